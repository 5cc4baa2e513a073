//! Many call operations at once, one of them refused by the database: all the others are
//! written (on SQLite they share a group-commit batch), and every caller gets its own answer.

use chrono::Utc;
use helpline::calls::{
    CallError, CallId, CallLog, CallState, CallerFingerprint, Channel, NewCall, Opened, Transition,
};

use crate::both_backends;
use crate::helpers::TestApp;

fn new_call(opened_by: Option<i64>) -> NewCall {
    NewCall {
        channel: Channel::Sip,
        line: Some("800186086".into()),
        caller: CallerFingerprint {
            hash: None,
            territory_hint: None,
        },
        language: None,
        opened_by,
    }
}

both_backends!(
    one_failing_operation_loses_none_of_the_others,
    |app: TestApp| async move {
        let log = CallLog::start(&app.db).unwrap();
        // Fifty opens at once land in the same batches; one names a user that does not
        // exist, which the database refuses (foreign key).
        let opens = (0..50).map(|i| {
            log.open(
                new_call(if i == 25 { Some(987_654) } else { None }),
                Utc::now(),
            )
        });
        let results = futures::future::join_all(opens).await;
        assert!(
            matches!(results[25], Err(CallError::Db(_))),
            "{:?}",
            results[25].as_ref().err()
        );
        let ok: Vec<_> = results
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 25)
            .map(|(_, r)| r.as_ref().unwrap())
            .collect();
        assert_eq!(ok.len(), 49);
        for id in ok {
            let (status, call) = app.get(&format!("/api/v1/calls/{id}")).await;
            assert_eq!((status, call["state"].as_str()), (200, Some("offered")));
        }

        // Transitions of many calls in one go, some illegal: each gets its own answer.
        let ids: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
        let changes = ids.iter().enumerate().map(|(i, id)| {
            let to = if i % 2 == 0 {
                CallState::Queued
            } else {
                CallState::Ended
            };
            log.transition(
                *id,
                Transition {
                    to,
                    at: Utc::now(),
                    reason: None,
                    actor_user_id: None,
                },
            )
        });
        let answers = futures::future::join_all(changes).await;
        for (i, answer) in answers.iter().enumerate() {
            if i % 2 == 0 {
                assert_eq!(answer.as_ref().ok(), Some(&CallState::Queued));
            } else {
                assert!(matches!(answer, Err(CallError::Illegal(_))), "{answer:?}");
            }
        }
    }
);

/// How many call records there are, and how many CallSids tied to one.
async fn records(app: &TestApp) -> (i64, i64) {
    helpline::with_db!(&app.db, |pool| {
        sqlx::query_as("select (select count(*) from calls), (select count(*) from cpaas_calls)")
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

fn step(to: CallState, reason: &str) -> Transition {
    Transition {
        to,
        at: Utc::now(),
        reason: Some(reason.into()),
        actor_user_id: None,
    }
}

both_backends!(
    a_provider_call_is_opened_with_its_first_moves_once_however_often_it_is_posted,
    |app: TestApp| async move {
        let log = CallLog::start(&app.db).unwrap();
        let provider_call = || NewCall {
            channel: Channel::Cpaas,
            ..new_call(None)
        };
        // The same CallSid twenty times at once, each with a record of its own to open:
        // one is written, with its moves; the others are told whose the CallSid is.
        let ids: Vec<CallId> = (0..20).map(|_| CallId::new()).collect();
        let opens = ids.iter().map(|id| {
            log.open_from_provider(
                *id,
                provider_call(),
                Utc::now(),
                "CA0123456789abcdef0123456789abcdef",
                vec![
                    step(CallState::Queued, "cpaas"),
                    step(CallState::Ringing, "cpaas_dial"),
                ],
            )
        });
        let results = futures::future::join_all(opens).await;
        let opened: Vec<CallId> = ids
            .iter()
            .zip(&results)
            .filter(|(_, r)| matches!(r, Ok(Opened::New)))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(opened.len(), 1, "{results:?}");
        let id = opened[0];
        for r in &results {
            assert!(
                matches!(r, Ok(Opened::New)) || matches!(r, Ok(Opened::Known(k)) if *k == id),
                "{r:?}"
            );
        }
        let (status, call) = app.get(&format!("/api/v1/calls/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(call["state"], "ringing");
        assert_eq!(call["channel"], "cpaas");
        let events: Vec<(i64, &str, &str)> = call["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["seq"].as_i64().unwrap(),
                    e["state"].as_str().unwrap(),
                    e["reason"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            events,
            [
                (1, "offered", ""),
                (2, "queued", "cpaas"),
                (3, "ringing", "cpaas_dial")
            ]
        );
        let (calls, tied) = records(&app).await;
        assert_eq!((calls, tied), (1, 1), "no record besides the one opened");

        // The record moves on from the moves it was opened with.
        let next = log.transition(id, step(CallState::Answered, "cpaas_answered"));
        assert_eq!(next.await.unwrap(), CallState::Answered);

        // Moves the lifecycle does not allow are refused, and nothing is written.
        let refused = log
            .open_from_provider(
                CallId::new(),
                provider_call(),
                Utc::now(),
                "CAffffffffffffffffffffffffffffffff",
                vec![step(CallState::Ended, "x"), step(CallState::Queued, "y")],
            )
            .await;
        assert!(matches!(refused, Err(CallError::Illegal(_))), "{refused:?}");
        let earlier = log
            .open_from_provider(
                CallId::new(),
                provider_call(),
                Utc::now(),
                "CAeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
                vec![Transition {
                    at: Utc::now() - chrono::Duration::seconds(5),
                    ..step(CallState::Queued, "cpaas")
                }],
            )
            .await;
        assert!(
            matches!(earlier, Err(CallError::OutOfOrder { .. })),
            "{earlier:?}"
        );
        let (calls, tied) = records(&app).await;
        assert_eq!((calls, tied), (1, 1));
    }
);

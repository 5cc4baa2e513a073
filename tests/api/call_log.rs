//! Many call operations at once, one of them refused by the database: all the others are
//! written (on SQLite they share a group-commit batch), and every caller gets its own answer.

use chrono::Utc;
use helpline::calls::{
    CallError, CallLog, CallState, CallerFingerprint, Channel, NewCall, Transition,
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

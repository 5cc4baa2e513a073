//! An operator records a manual call and moves it through its lifecycle over HTTP.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;

/// A time `secs` before the moment the test process first asked, so that differences
/// between two such times are exact.
fn ago(secs: i64) -> String {
    static BASE: std::sync::OnceLock<chrono::DateTime<Utc>> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(Utc::now);
    (base - Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

both_backends!(
    operator_records_a_manual_call_from_offered_to_ended,
    |app: TestApp| async move {
        let (status, call) = app
        .post("/api/v1/calls", &json!({ "line": "800186086", "caller_number": "+39 055 123 4567", "language": "it", "at": ago(60) }))
        .await;
        assert_eq!(status, 201, "{call}");
        assert_eq!(call["state"], "offered");
        assert_eq!(call["channel"], "manual");
        assert_eq!(call["territory_hint"], "FI");
        assert_eq!(call["previous_calls"], 0);
        let id = call["id"].as_str().unwrap().to_string();
        let events = format!("/api/v1/calls/{id}/events");
        for (state, secs) in [("ringing", 50), ("answered", 40), ("ended", 10)] {
            let (status, body) = app
                .post(&events, &json!({ "state": state, "at": ago(secs) }))
                .await;
            assert_eq!(status, 200, "{state}: {body}");
            assert_eq!(body["state"], state);
        }
        let (status, call) = app.get(&format!("/api/v1/calls/{id}")).await;
        assert_eq!(status, 200);
        let states: Vec<&str> = call["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["offered", "ringing", "answered", "ended"]);
        let t = &call["timings"];
        assert_eq!(t["final_state"], "ended");
        assert_close(&t["wait_seconds"], 20.0);
        assert_close(&t["talk_seconds"], 30.0);
        assert!(t["answered_at"].is_string() && t["ended_at"].is_string());
    }
);

both_backends!(
    a_second_call_from_the_same_number_is_a_repeat_call,
    |app: TestApp| async move {
        app.open_call(&json!({ "caller_number": "0574 123456" }))
            .await;
        let id = app
            .open_call(&json!({ "caller_number": "+39 0574 123456" }))
            .await;
        let (_, call) = app.get(&format!("/api/v1/calls/{id}")).await;
        assert_eq!(call["previous_calls"], 1);
        assert_eq!(call["territory_hint"], "PO");
        let id = app
            .open_call(&json!({ "caller_number": "anonymous" }))
            .await;
        let (_, call) = app.get(&format!("/api/v1/calls/{id}")).await;
        assert_eq!(
            call["previous_calls"],
            Value::Null,
            "withheld numbers have no history"
        );
    }
);

both_backends!(
    a_caller_hangs_up_before_an_answer_and_the_call_is_abandoned,
    |app: TestApp| async move {
        let id = app.open_call(&json!({ "at": ago(30) })).await;
        let events = format!("/api/v1/calls/{id}/events");
        assert_eq!(
            app.post(&events, &json!({ "state": "queued", "at": ago(25) }))
                .await
                .0,
            200
        );
        let (status, call) = app
            .post(
                &events,
                &json!({ "state": "abandoned", "at": ago(5), "reason": "caller_hung_up" }),
            )
            .await;
        assert_eq!(status, 200, "{call}");
        assert_eq!(call["timings"]["final_state"], "abandoned");
        assert_close(&call["timings"]["wait_seconds"], 25.0);
        assert_eq!(call["timings"]["talk_seconds"], Value::Null);
        assert_eq!(call["events"][2]["reason"], "caller_hung_up");
    }
);

both_backends!(
    an_illegal_transition_is_refused_and_changes_nothing,
    |app: TestApp| async move {
        let id = app.open_call(&json!({})).await;
        let events = format!("/api/v1/calls/{id}/events");
        let (status, body) = app.post(&events, &json!({ "state": "ended" })).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"]["code"], "illegal_transition");
        assert_eq!(body["error"]["field"], "state");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offered"));
        let (_, call) = app.get(&format!("/api/v1/calls/{id}")).await;
        assert_eq!(call["events"].as_array().unwrap().len(), 1);
        assert_eq!(
            app.post(&events, &json!({ "state": "answered" })).await.0,
            200
        );
        assert_eq!(app.post(&events, &json!({ "state": "ended" })).await.0, 200);
        let (status, body) = app.post(&events, &json!({ "state": "answered" })).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("illegal_transition"))
        );
    }
);

both_backends!(
    an_event_earlier_than_the_last_one_is_refused,
    |app: TestApp| async move {
        let id = app.open_call(&json!({ "at": ago(10) })).await;
        let (status, body) = app
            .post(
                &format!("/api/v1/calls/{id}/events"),
                &json!({ "state": "answered", "at": ago(20) }),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["field"], "at");
    }
);

both_backends!(
    concurrent_transitions_on_one_call_leave_one_winner,
    |app: TestApp| async move {
        let id = app.open_call(&json!({})).await;
        let events = format!("/api/v1/calls/{id}/events");
        // Ten clients race to answer the same call: exactly one may succeed.
        let answer = json!({ "state": "answered" });
        let tries = (0..10).map(|_| app.post(&events, &answer));
        let results = futures::future::join_all(tries).await;
        let won = results.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(won, 1, "{results:?}");
        assert!(
            results.iter().all(|(s, _)| *s == 200 || *s == 409),
            "{results:?}"
        );
        let (_, call) = app.get(&format!("/api/v1/calls/{id}")).await;
        assert_eq!(call["events"].as_array().unwrap().len(), 2);
    }
);

both_backends!(
    the_callers_number_is_stored_nowhere,
    |app: TestApp| async move {
        let id = app
            .open_call(&json!({ "caller_number": "+39 0586 987654" }))
            .await;
        assert!(!id.is_empty());
        let dump = helpline::with_db!(&app.db, |pool| {
            let mut text = String::new();
            for table in ["calls", "call_events", "audit_log", "jobs"] {
                let rows: Vec<String> = sqlx::query_scalar(&format!(
                    "select {} from {table}",
                    all_columns_concat(table)
                ))
                .fetch_all(pool)
                .await
                .unwrap();
                text.push_str(&rows.join("\n"));
            }
            text
        });
        assert!(dump.contains("LI"), "the territory hint is kept: {dump}");
        for needle in ["987654", "0586987654", "390586987654"] {
            assert!(!dump.contains(needle), "found the number in the database");
        }
    }
);

/// Every column of `table` concatenated as text (portable between the two backends).
fn all_columns_concat(table: &str) -> String {
    let cols: &[&str] = match table {
        "calls" => &[
            "id",
            "channel",
            "line",
            "caller_hash",
            "territory_hint",
            "language",
            "state",
            "seq",
            "opened_at",
            "opened_by",
        ],
        "call_events" => &["call_id", "seq", "state", "at", "reason", "actor_user_id"],
        "audit_log" => &[
            "id",
            "at",
            "actor",
            "action",
            "object_kind",
            "object_id",
            "address",
            "detail",
        ],
        _ => &[
            "id",
            "kind",
            "payload",
            "idempotency_key",
            "state",
            "last_error",
        ],
    };
    cols.iter()
        .map(|c| format!("coalesce(cast({c} as text), '')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ")
}

fn assert_close(value: &Value, expected: f64) {
    let got = value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"));
    assert!(
        (got - expected).abs() < 0.01,
        "expected {expected}, got {got}"
    );
}

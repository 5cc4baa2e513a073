//! The durable job queue inside one service: due jobs run once, later jobs wait, failures
//! are retried with backoff and given up after the last attempt.

use std::time::Duration;

use chrono::Utc;
use helpline::jobs::{selftest, store, Jobs, NewJob, PRIORITY_NORMAL};
use helpline::with_db;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

fn job(kind: &str, payload: serde_json::Value) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload,
        run_at: Utc::now(),
        idempotency_key: None,
        max_attempts: None,
        priority: PRIORITY_NORMAL,
    }
}

/// (state, attempts, last_error) of a job.
async fn job_row(app: &TestApp, id: i64) -> (String, i32, Option<String>) {
    with_db!(&app.db, |pool| {
        sqlx::query_as("select state, attempts, last_error from jobs where id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn runs_of(app: &TestApp, id: i64) -> i64 {
    with_db!(&app.db, |pool| {
        sqlx::query_scalar("select count(*) from job_selftest_runs where job_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

/// Polls `check` until it holds or 20 s pass.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

macro_rules! queue_test {
    ($name:ident, $extra:expr, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = TestApp::spawn_with(Backend::Sqlite, $extra).await {
                    ($body)(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::spawn_with(Backend::Postgres, $extra).await {
                    ($body)(app).await;
                }
            }
        }
    };
}

queue_test!(
    a_due_job_runs_exactly_once,
    &[],
    |app: TestApp| async move {
        let jobs = Jobs::new(app.db.clone(), 5);
        let id = jobs
            .enqueue(&job(selftest::KIND, json!({})), Utc::now())
            .await
            .unwrap();
        eventually("job done", || async { job_row(&app, id).await.0 == "done" }).await;
        assert_eq!(runs_of(&app, id).await, 1);
        assert_eq!(job_row(&app, id).await.1, 1, "one attempt");
    }
);

queue_test!(
    a_job_for_later_waits_for_its_time,
    &[],
    |app: TestApp| async move {
        let jobs = Jobs::new(app.db.clone(), 5);
        let mut later = job(selftest::KIND, json!({}));
        later.run_at = Utc::now() + chrono::Duration::seconds(1);
        let id = jobs.enqueue(&later, Utc::now()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(job_row(&app, id).await.0, "pending", "not before its time");
        eventually("job done after its time", || async {
            job_row(&app, id).await.0 == "done"
        })
        .await;
        assert_eq!(runs_of(&app, id).await, 1);
    }
);

queue_test!(
    a_failing_job_is_retried_with_backoff_then_given_up,
    &[
        ("HELPLINE__JOBS__BACKOFF_BASE_MS", "200"),
        ("HELPLINE__JOBS__BACKOFF_MAX_MS", "400")
    ],
    |app: TestApp| async move {
        let jobs = Jobs::new(app.db.clone(), 5);
        let mut j = job("no.such.kind", json!({}));
        j.max_attempts = Some(3);
        let id = jobs.enqueue(&j, Utc::now()).await.unwrap();
        // A claim counts the attempt at once; wait for its failure to be recorded.
        eventually("first attempt failed", || async {
            job_row(&app, id).await.2.is_some()
        })
        .await;
        let (state, _, error) = job_row(&app, id).await;
        assert!(
            state == "pending" || state == "running",
            "retried, not dropped: {state}"
        );
        assert!(error.unwrap_or_default().contains("no handler"));
        eventually("given up", || async {
            job_row(&app, id).await.0 == "failed"
        })
        .await;
        assert_eq!(
            job_row(&app, id).await.1,
            3,
            "exactly max_attempts attempts"
        );
        let text = app.metrics().await;
        assert!(text.contains("helpline_jobs{state=\"failed\"}"), "{text}");
    }
);

queue_test!(
    a_job_with_a_bad_payload_fails_at_once,
    &[],
    |app: TestApp| async move {
        let jobs = Jobs::new(app.db.clone(), 5);
        let id = jobs
            .enqueue(
                &job(selftest::KIND, json!({ "work_ms": "lots" })),
                Utc::now(),
            )
            .await
            .unwrap();
        eventually("failed", || async { job_row(&app, id).await.0 == "failed" }).await;
        let (_, attempts, error) = job_row(&app, id).await;
        assert_eq!(attempts, 1, "a permanent failure is not retried");
        assert!(error.unwrap_or_default().contains("work_ms"));
        assert_eq!(runs_of(&app, id).await, 0, "no effect was committed");
    }
);

queue_test!(
    the_same_idempotency_key_queues_one_job,
    &[],
    |app: TestApp| async move {
        let jobs = Jobs::new(app.db.clone(), 5);
        let mut j = job(selftest::KIND, json!({}));
        j.idempotency_key = Some("referral-42-step-1".into());
        let a = jobs.enqueue(&j, Utc::now()).await.unwrap();
        let b = jobs.enqueue(&j, Utc::now()).await.unwrap();
        assert_eq!(a, b);
        eventually("done", || async { job_row(&app, a).await.0 == "done" }).await;
        assert_eq!(
            jobs.enqueue(&j, Utc::now()).await.unwrap(),
            a,
            "not even after it ran"
        );
        assert_eq!(runs_of(&app, a).await, 1);
    }
);

queue_test!(
    among_jobs_due_together_the_more_urgent_is_claimed_first,
    &[("HELPLINE__JOBS__WORKERS", "0")],
    |app: TestApp| async move {
        // No worker on this node: the test claims as a worker would.
        let jobs = Jobs::new(app.db.clone(), 5);
        let now = Utc::now();
        let email = jobs
            .enqueue(&job(selftest::KIND, json!({})), now)
            .await
            .unwrap();
        let mut urgent = job(selftest::KIND, json!({}));
        urgent.priority = PRIORITY_NORMAL + 1;
        let sms = jobs.enqueue(&urgent, now).await.unwrap();
        let later = now + chrono::Duration::seconds(1);
        let lease = later + chrono::Duration::seconds(60);
        let mut claimed = Vec::new();
        for _ in 0..2 {
            let jobs = store::claim(&app.db, "node-a", 1, later, lease)
                .await
                .unwrap();
            claimed.extend(jobs.iter().map(|j| j.id));
        }
        assert_eq!(
            claimed,
            [sms, email],
            "the older but less urgent one second"
        );
    }
);

queue_test!(
    jobs_that_wait_hold_no_database_connection,
    &[
        ("HELPLINE__JOBS__WORKERS", "8"),
        ("HELPLINE__DATABASE__MAX_CONNECTIONS", "2")
    ],
    |app: TestApp| async move {
        // Eight jobs wait at once, each longer than a connection may be waited for; with
        // a connection held while waiting, six would find none and fail an attempt.
        let jobs = Jobs::new(app.db.clone(), 5);
        let mut ids = Vec::new();
        for _ in 0..8 {
            let id = jobs
                .enqueue(&job(selftest::KIND, json!({ "work_ms": 3500 })), Utc::now())
                .await
                .unwrap();
            ids.push(id);
        }
        for id in ids {
            eventually("job done", || async { job_row(&app, id).await.0 == "done" }).await;
            assert_eq!(job_row(&app, id).await.1, 1, "done at the first attempt");
            assert_eq!(runs_of(&app, id).await, 1);
        }
    }
);

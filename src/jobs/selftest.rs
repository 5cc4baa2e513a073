//! The queue self-test: a job that records, in its own transaction, which node ran it.
//! `helpline jobs selftest` queues many of them so an operator can check, on a live
//! deployment with several nodes, that every job runs exactly once.

use std::time::Duration;

use chrono::Utc;

use super::{BoxFuture, Job, JobFailure, JobHandler, JobTx};
use crate::with_tx;

/// Kind name of the self-test job.
pub const KIND: &str = "selftest";

/// Handler of [`KIND`]: payload `{"work_ms": N}` simulates N ms of work first.
pub struct SelfTest;

impl JobHandler for SelfTest {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        node: &'a str,
        tx: &'a mut JobTx,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(async move {
            let work_ms = match job.payload.get("work_ms") {
                None => 0,
                Some(v) => v.as_u64().filter(|ms| *ms <= 60_000).ok_or_else(|| {
                    JobFailure::permanent(
                        "selftest payload: work_ms must be an integer from 0 to 60000",
                    )
                })?,
            };
            if work_ms > 0 {
                tokio::time::sleep(Duration::from_millis(work_ms)).await;
            }
            with_tx!(tx.get().await?, |conn| {
                sqlx::query(
                    "insert into job_selftest_runs (job_id, node, ran_at) values ($1, $2, $3)",
                )
                .bind(job.id)
                .bind(node)
                .bind(Utc::now())
                .execute(&mut *conn)
                .await?;
            });
            Ok(())
        })
    }
}

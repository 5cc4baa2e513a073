//! The worker that runs due jobs on this node: claims as many as it has free slots, runs
//! them concurrently, keeps their leases alive, retries failures with backoff, and on
//! shutdown lets running jobs finish (for a grace period) and gives back its claims.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::{store, Job, JobFailure, JobHandler, JobTx, Jobs, WriteGate};
use crate::config::JobsConfig;
use crate::db::{Db, DbError};

/// Runs jobs on this node.
pub struct Worker {
    db: Db,
    node: String,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    cfg: JobsConfig,
    wake: Arc<Notify>,
    clock: crate::clock::Clock,
    writes: WriteGate,
}

/// A running worker.
pub struct WorkerHandle {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    node: String,
}

impl WorkerHandle {
    /// This node's name in job claims.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Stops claiming, lets running jobs finish within the grace period, then releases
    /// whatever this node still holds.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "job worker ended abnormally");
        }
    }
}

impl Worker {
    /// A worker on `jobs`' database, named `node` in claims.
    pub fn new(db: Db, jobs: &Jobs, cfg: JobsConfig, node: String) -> Self {
        Self {
            writes: WriteGate::for_db(&db),
            db,
            node,
            handlers: HashMap::new(),
            cfg,
            wake: jobs.wake_signal(),
            clock: jobs.clock().clone(),
        }
    }

    /// Adds the handler of one kind of job.
    pub fn register(mut self, handler: impl JobHandler) -> Self {
        self.handlers.insert(handler.kind(), Arc::new(handler));
        self
    }

    /// Starts the worker loop.
    pub fn spawn(self) -> WorkerHandle {
        let cancel = CancellationToken::new();
        let node = self.node.clone();
        let task = tokio::spawn(Arc::new(self).run(cancel.clone()));
        WorkerHandle { cancel, task, node }
    }

    async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.cfg.workers));
        let poll = Duration::from_millis(self.cfg.poll_interval_ms);
        let mut running = JoinSet::new();
        tracing::info!(node = %self.node, workers = self.cfg.workers, "job worker started");
        while !cancel.is_cancelled() {
            let mut permits: Vec<OwnedSemaphorePermit> = Vec::new();
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            let free = permits.len();
            let mut claimed = 0;
            if free > 0 {
                let now = self.clock.now();
                let lease_until = now + chrono::Duration::seconds(self.lease_secs());
                match self
                    .write(store::claim(&self.db, &self.node, free, now, lease_until))
                    .await
                {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for (job, permit) in jobs.into_iter().zip(permits.drain(..)) {
                            let me = self.clone();
                            running.spawn(async move {
                                me.run_one(job).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not claim jobs; will try again"),
                }
            }
            drop(permits);
            if claimed > 0 && claimed == free {
                // Every slot was filled: there may be more due, go round at once.
                continue;
            }
            // With a free slot, sleep only until the next job falls due: a step due in
            // 40 ms must not wait for the next poll. Busy, a finished job wakes us.
            let wait = if free > 0 {
                self.until_next_due(poll).await
            } else {
                poll
            };
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = self.wake.notified() => {}
                _ = self.clock.moved() => {}
                _ = tokio::time::sleep(wait) => {}
                Some(done) = running.join_next(), if !running.is_empty() => log_join(done),
            }
            while let Some(done) = running.try_join_next() {
                log_join(done);
            }
        }
        self.drain(running).await;
    }

    async fn drain(&self, mut running: JoinSet<()>) {
        let grace = Duration::from_millis(self.cfg.shutdown_grace_ms);
        let finished = tokio::time::timeout(grace, async {
            while let Some(done) = running.join_next().await {
                log_join(done);
            }
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                left = running.len(),
                "jobs still running after the grace period; stopping them"
            );
            running.abort_all();
            while running.join_next().await.is_some() {}
        }
        match self.write(store::release(&self.db, &self.node)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "job claims given back"),
            Err(e) => {
                tracing::error!(error = %e, "could not give back job claims; they return after the lease")
            }
        }
        tracing::info!(node = %self.node, "job worker stopped");
    }

    /// How long until the next pending job falls due, at most `poll` (which still
    /// catches jobs added by other nodes and leases that run out). At least a
    /// millisecond, so a due job another node is claiming right now is not polled in a
    /// busy loop.
    async fn until_next_due(&self, poll: Duration) -> Duration {
        let next = match store::next_due(&self.db).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "could not read when the next job is due");
                None
            }
        };
        next.and_then(|at| (at - self.clock.now()).to_std().ok())
            .map_or(poll, |d| d.min(poll))
            .max(Duration::from_millis(1))
    }

    /// Runs one of the queue's own writes (claim, failure, lease, release) in its turn
    /// among this node's writers.
    async fn write<T>(
        &self,
        statement: impl std::future::Future<Output = Result<T, DbError>>,
    ) -> Result<T, DbError> {
        let _turn = self.writes.turn().await?;
        statement.await
    }

    fn lease_secs(&self) -> i64 {
        i64::try_from(self.cfg.lease_seconds).unwrap_or(i64::MAX / 2)
    }

    #[tracing::instrument(skip_all, fields(job = job.id, kind = %job.kind, attempt = job.attempt))]
    async fn run_one(&self, job: Job) {
        let outcome = tokio::select! {
            outcome = self.attempt(&job) => outcome,
            never = self.keep_lease(&job) => match never {},
        };
        match outcome {
            Ok(true) => {
                metrics::counter!("helpline_jobs_completed_total", "kind" => job.kind.clone())
                    .increment(1);
            }
            Ok(false) => {
                tracing::warn!("claim lost to another node before completion; effects rolled back")
            }
            Err(failure) => self.record_failure(&job, failure).await,
        }
    }

    /// One attempt: the handler's effects and the completion in one transaction.
    /// `Ok(false)` when the claim was lost meanwhile.
    async fn attempt(&self, job: &Job) -> Result<bool, JobFailure> {
        let handler = self.handlers.get(job.kind.as_str()).ok_or_else(|| {
            JobFailure::retry(format!(
                "no handler for job kind `{}` on this node",
                job.kind
            ))
        })?;
        let mut tx = JobTx::new(self.db.clone(), self.writes.clone());
        if let Err(failure) = handler.run(job, &self.node, &mut tx).await {
            let _ = tx.rollback().await;
            return Err(failure);
        }
        if store::complete_in(tx.get().await?, job, &self.node, self.clock.now()).await? {
            tx.commit().await?;
            Ok(true)
        } else {
            tx.rollback().await?;
            Ok(false)
        }
    }

    /// Extends the lease while the job runs, so a long job is not taken over.
    async fn keep_lease(&self, job: &Job) -> std::convert::Infallible {
        let every = Duration::from_secs((self.cfg.lease_seconds / 3).max(1));
        loop {
            tokio::time::sleep(every).await;
            let until = self.clock.now() + chrono::Duration::seconds(self.lease_secs());
            if let Err(e) = self
                .write(store::extend(&self.db, job, &self.node, until))
                .await
            {
                tracing::warn!(error = %e, "could not extend the job's lease");
            }
        }
    }

    async fn record_failure(&self, job: &Job, failure: JobFailure) {
        let now = self.clock.now();
        let give_up = failure.permanent || job.attempt >= job.max_attempts;
        let retry_at = (!give_up).then(|| now + backoff(&self.cfg, job.attempt));
        metrics::counter!("helpline_jobs_failed_attempts_total", "kind" => job.kind.clone())
            .increment(1);
        if give_up {
            tracing::error!(error = %failure, "job failed for good");
        } else {
            tracing::warn!(error = %failure, retry_at = %retry_at.unwrap_or(now), "job attempt failed; will retry");
        }
        let failed = store::fail(&self.db, job, &self.node, &failure.message, retry_at, now);
        if let Err(e) = self.write(failed).await {
            tracing::error!(error = %e, "could not record the job's failure; it returns after the lease");
        }
    }
}

fn log_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        if e.is_panic() {
            tracing::error!("a job panicked; it returns after its lease");
        }
    }
}

/// `base * 2^(attempt-1)`, capped, with ±20% jitter so retries of many jobs spread out.
pub fn backoff(cfg: &JobsConfig, attempt: i32) -> chrono::Duration {
    let exp = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(32);
    let ms = cfg
        .backoff_base_ms
        .saturating_mul(1u64 << exp)
        .min(cfg.backoff_max_ms);
    let jittered = (ms as f64 * rand::thread_rng().gen_range(0.8..=1.2)) as i64;
    chrono::Duration::milliseconds(jittered.max(1))
}

/// A name for this node in job claims: host, process id and a random suffix, so a
/// restarted process never inherits its predecessor's claims.
pub fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_string());
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        rand::thread_rng().gen::<u16>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> JobsConfig {
        JobsConfig {
            workers: 1,
            poll_interval_ms: 100,
            lease_seconds: 30,
            max_attempts: 5,
            backoff_base_ms: 1000,
            backoff_max_ms: 10_000,
            shutdown_grace_ms: 1000,
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = cfg();
        let ms = |a| backoff(&c, a).num_milliseconds();
        assert!((800..=1200).contains(&ms(1)));
        assert!((1600..=2400).contains(&ms(2)));
        assert!((8000..=12_000).contains(&ms(10)));
        assert!((8000..=12_000).contains(&ms(i32::MAX)));
    }
}

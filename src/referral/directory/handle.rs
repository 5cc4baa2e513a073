//! The directory in use, shared by every request and task of a node. Readers take a
//! snapshot (`current`), which never changes under them; an admin's change replaces it
//! on the node that saved it at once and on the other nodes at their next poll.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::edit::{Edit, EditError, Outcome};
use super::store::{self, StoreError};
use super::Directory;
use crate::db::audit::AuditEntry;
use crate::db::Db;

/// How often a node looks for versions saved by other nodes.
pub const POLL: Duration = Duration::from_secs(2);

/// Shared handle to the directory in use.
#[derive(Clone)]
pub struct DirectoryHandle {
    /// The file's directory: its reference part is the one in use; its entries seed an
    /// empty database.
    file: Arc<Directory>,
    current: Arc<RwLock<Snapshot>>,
}

#[derive(Clone)]
struct Snapshot {
    version: i64,
    directory: Arc<Directory>,
}

impl DirectoryHandle {
    /// A handle on `dir` alone, stored nowhere (tests and tools that only read).
    pub fn fixed(dir: Directory) -> Self {
        let dir = Arc::new(dir);
        Self {
            file: dir.clone(),
            current: Arc::new(RwLock::new(Snapshot {
                version: 0,
                directory: dir,
            })),
        }
    }

    /// Seeds an empty database with the file's entries, then takes the newest stored
    /// version with the file's reference part. A stored version that no longer fits the
    /// file (say, a territory removed from it that a unit still names) is refused here,
    /// naming the key, so the service does not start on a broken directory.
    pub async fn open(
        db: &Db,
        file: Directory,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        store::seed(db, &file.entries(), &format!("seeded from {source}"), now).await?;
        let handle = Self::fixed(file);
        handle.refresh(db).await?;
        Ok(handle)
    }

    /// The directory in use now.
    pub fn current(&self) -> Arc<Directory> {
        self.snapshot().directory
    }

    /// The number of the version in use (0 when stored nowhere).
    pub fn version(&self) -> i64 {
        self.snapshot().version
    }

    fn snapshot(&self) -> Snapshot {
        // A poisoned lock only means a panic elsewhere while swapping an Arc: the value
        // inside is whole either way.
        match self.current.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, version: i64, directory: Directory) {
        let snapshot = Snapshot {
            version,
            directory: Arc::new(directory),
        };
        match self.current.write() {
            Ok(mut s) if s.version < version => *s = snapshot,
            Ok(_) => {}
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// Takes the newest stored version if it is newer than the one in use.
    pub async fn refresh(&self, db: &Db) -> Result<(), StoreError> {
        if store::newest(db).await?.unwrap_or(0) <= self.version() {
            return Ok(());
        }
        let Some((version, entries)) = store::load(db).await? else {
            return Ok(());
        };
        let directory = self
            .file
            .with_entries(entries)
            .map_err(|message| StoreError::Unreadable { version, message })?;
        self.replace(version, directory);
        tracing::info!(version, "directory version in use");
        Ok(())
    }

    /// Applies an admin's edit to the newest version and saves the result as the next,
    /// with its audit entry; on a race with another admin, applies it again to theirs.
    /// Returns what was saved, for the page and the rotas.
    pub async fn apply(
        &self,
        db: &Db,
        edit: &Edit,
        actor: AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EditError> {
        for _ in 0..3 {
            self.refresh(db).await?;
            let snapshot = self.snapshot();
            let outcome = edit.apply(&snapshot.directory)?;
            let entry = AuditEntry {
                action: outcome.action,
                object_kind: outcome.object_kind,
                object_id: outcome.object_id.clone(),
                detail: serde_json::json!({
                    "version": snapshot.version + 1,
                    "fields": outcome.fields,
                }),
                ..actor.clone()
            };
            let version = snapshot.version + 1;
            match store::save(
                db,
                version,
                &outcome.directory.entries(),
                &outcome.summary,
                &entry,
                now,
            )
            .await
            {
                Ok(()) => {
                    self.replace(version, outcome.directory.clone());
                    return Ok(outcome);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Polls for versions saved by other nodes until `stop`.
    pub fn follow(&self, db: Db, stop: CancellationToken) {
        let handle = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => {
                        if let Err(e) = handle.refresh(&db).await {
                            tracing::warn!(error = %e, "could not look for a newer directory");
                        }
                    }
                }
            }
        });
    }
}

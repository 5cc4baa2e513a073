//! The board's live feed: one task per node reads the board while somebody watches it
//! (every half second, and at once when this node changes a call) and publishes each
//! new snapshot; every open board receives it by server-sent events. Polling the
//! database, rather than trusting local changes only, is what lets several nodes on one
//! PostgreSQL database show the same board.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::board_data::{self, BoardSettings, BoardSnapshot};
use crate::clock::Clock;
use crate::db::Db;

/// How often the board is read while watched.
const POLL: Duration = Duration::from_millis(500);

/// The shared feed (one per running service).
#[derive(Clone)]
pub struct BoardFeed {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    settings: BoardSettings,
    clock: Clock,
    changed: Arc<Notify>,
    snapshots: watch::Sender<Arc<BoardSnapshot>>,
}

impl BoardFeed {
    /// A feed reading `db`; its task ends when the service is dropped.
    pub fn start(db: Db, settings: BoardSettings, clock: Clock) -> Self {
        let (snapshots, _) = watch::channel(Arc::new(BoardSnapshot::default()));
        let inner = Arc::new(Inner {
            db,
            settings,
            clock,
            changed: Arc::new(Notify::new()),
            snapshots,
        });
        tokio::spawn(run(Arc::downgrade(&inner), inner.changed.clone()));
        Self { inner }
    }

    /// Says that this node changed something the board shows.
    pub fn poke(&self) {
        self.inner.changed.notify_one();
    }

    /// New snapshots as they come.
    pub fn subscribe(&self) -> watch::Receiver<Arc<BoardSnapshot>> {
        let rx = self.inner.snapshots.subscribe();
        self.poke();
        rx
    }
}

async fn run(feed: Weak<Inner>, changed: Arc<Notify>) {
    loop {
        let Some(inner) = feed.upgrade() else { return };
        if inner.snapshots.receiver_count() > 0 {
            match board_data::load(&inner.db, inner.clock.now(), &inner.settings).await {
                Ok(snapshot) => {
                    inner.snapshots.send_if_modified(|current| {
                        if **current == snapshot {
                            false
                        } else {
                            *current = Arc::new(snapshot);
                            true
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "live board not read; trying again"),
            }
        }
        // Wait without holding the feed, so a stopped service lets the task end.
        drop(inner);
        tokio::select! {
            () = changed.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

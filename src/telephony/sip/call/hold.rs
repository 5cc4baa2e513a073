//! The caller on hold after the menu: the service has answered their leg, so while the
//! operators' phones ring it plays them the hold audio (`media::hold`) in their
//! language, on the caller leg's ports, in a task of its own; when an operator answers,
//! the task is stopped and the ports go to the relay.

use chrono::Duration as Span;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::CallContext;
use crate::calls::CallId;
use crate::db::{Db, DbError};
use crate::telephony::media::{hold, HoldPlan, Language, MenuMedia};
use crate::with_db;

/// The hold audio of a call, playing.
pub(super) struct Hold {
    cancel: CancellationToken,
    task: JoinHandle<MenuMedia>,
}

impl Hold {
    /// Stops the audio and gives the caller leg back; `None` if the task failed (the
    /// call then goes on without its media, and says so in the log).
    pub(super) async fn stop(self) -> Option<MenuMedia> {
        self.cancel.cancel();
        match self.task.await {
            Ok(media) => Some(media),
            Err(e) => {
                tracing::error!(error = %e, "hold audio task failed");
                None
            }
        }
    }
}

/// How far back a waiting call can have arrived: no call waits longer than this (the
/// ring timeout and the overflow are minutes at most), and the count stays a short
/// range of the `opened_at` index rather than every call ever made.
const WAITING_AT_MOST: i64 = 60;

/// The caller's place in the queue: 1 plus the calls still waiting for an operator
/// that arrived before this one.
async fn queue_position(db: &Db, id: CallId) -> Result<usize, DbError> {
    let since = chrono::Utc::now() - Span::minutes(WAITING_AT_MOST);
    let ahead: i64 = with_db!(db, |pool| {
        sqlx::query_scalar(
        "select count(*) from calls c where c.state in ('menu', 'queued', 'ringing', 'overflowed') \
         and c.opened_at >= $2 \
         and c.opened_at < (select opened_at from calls where id = $1)"
    )
    .bind(id)
    .bind(since)
    .fetch_one(pool)
    .await?
    });
    Ok(usize::try_from(ahead).unwrap_or(0) + 1)
}

impl CallContext {
    /// Starts the hold audio on a call answered for the menu. With `nobody` to ring,
    /// the caller hears at once that the operators are busy.
    pub(super) fn start_hold(
        &self,
        id: CallId,
        mut media: MenuMedia,
        language: Language,
        nobody: bool,
    ) -> Hold {
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let db = self.state.db.clone();
        let plan = if nobody {
            HoldPlan {
                first: std::time::Duration::ZERO,
                ..self.hold
            }
        } else {
            self.hold
        };
        let task = tokio::spawn(async move {
            let position = || {
                let db = db.clone();
                async move {
                    queue_position(&db, id)
                        .await
                        .map_err(
                            |e| tracing::warn!(call = %id, error = %e, "queue position not read"),
                        )
                        .ok()
                }
            };
            if let Err(e) = hold(media.caller_leg(), language, plan, position, &token).await {
                tracing::warn!(call = %id, error = %e, "hold audio stopped");
                // The caller hears silence from here; the phones still ring.
                token.cancelled().await;
            }
            media
        });
        Hold { cancel, task }
    }
}

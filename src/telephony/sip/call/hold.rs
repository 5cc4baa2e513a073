//! The caller on hold after the menu: the service has answered their leg, so while the
//! operators' phones ring it plays them the hold audio (`media::hold`) in their
//! language, on the caller leg's ports, in a task of its own; when an operator answers,
//! the task is stopped and the ports go to the relay.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::CallContext;
use crate::calls::{store, CallId};
use crate::telephony::media::{hold, HoldPlan, Language, MenuMedia};

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
        let state = self.state.clone();
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
                let state = state.clone();
                async move {
                    store::queue_position(&state.db, id, state.clock.now())
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

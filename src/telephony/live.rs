//! The calls in progress on this node that the console can act on: each SIP call
//! registers a command channel once it is queued, and the console sends it "add the
//! mediator" or "drop the mediator" and waits for the call's answer.
//!
//! A call lives in the task that took it from the trunk (`sip::call`), so the console
//! cannot touch its legs or media itself: it asks, and the call does it between two of
//! its own events, with no lock held across the two. The channel closes with the call,
//! so asking a call that has just ended gets a clear error rather than a hang.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::calls::CallId;

/// How long the console waits for a call to take a command (it answers between two
/// events, so at once unless the node is in trouble).
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Commands a call is sent; at most a few wait at once.
const QUEUE: usize = 4;

/// A mediator to dial into a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediatorDial {
    /// The mediation request the call moves along (ringing, joined, left).
    pub request: i64,
    /// The directory's mediator code.
    pub code: String,
    /// Their number, E.164, dialled through the trunk.
    pub number: String,
    /// The operator who asked.
    pub by: i64,
}

/// What the console asks of a call.
#[derive(Debug)]
pub enum CallCommand {
    /// Dial the mediator through the trunk and, when they answer, mix the three parties.
    AddMediator {
        /// Who and for which request.
        dial: MediatorDial,
        /// The call's answer: dialling (the request is ringing), or why not.
        reply: oneshot::Sender<Result<(), LiveError>>,
    },
    /// Hang up on the mediator (ringing or on the call); caller and operator go on.
    DropMediator {
        /// The operator who asked.
        by: i64,
        /// The call's answer.
        reply: oneshot::Sender<Result<(), LiveError>>,
    },
}

/// Why a command could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// The call is not in progress on this node (ended, or taken by another node).
    #[error("the call is not in progress on this node")]
    NotLive,
    /// Nobody has answered the caller yet.
    #[error("the call has not been answered yet")]
    NotAnswered,
    /// The call's audio does not pass through the service in G.711, so it cannot be
    /// mixed (a late offer, or a codec the mixer does not speak).
    #[error("the call's audio cannot be mixed")]
    NoMixableMedia,
    /// No outbound trunk is configured (`[sip] outbound`).
    #[error("no outbound trunk is configured")]
    NoTrunk,
    /// A mediator is already ringing or on the call.
    #[error("a mediator is already on the call")]
    MediatorAlready,
    /// There is no mediator on the call to drop.
    #[error("no mediator is on the call")]
    NoMediator,
    /// The mediation request can no longer ring (closed or changed in the meantime).
    #[error("the mediation request cannot move to ringing")]
    RequestMoved,
    /// The mediation request could not be read or written.
    #[error("the mediation request could not be stored")]
    Storage,
    /// No media ports are free for the mediator's leg.
    #[error("no media ports are free")]
    NoMediaPorts,
    /// The mediator's number could not be dialled (the cause is logged, without it).
    #[error("the mediator could not be dialled")]
    Dial,
}

impl LiveError {
    /// What the operator reads, in Italian and English.
    pub fn message(&self) -> (&'static str, &'static str) {
        match self {
            LiveError::NotLive => (
                "La chiamata non è in corso su questo nodo: forse è appena terminata.",
                "The call is not in progress on this node: it may have just ended.",
            ),
            LiveError::NotAnswered => (
                "Nessun operatore ha ancora risposto alla chiamata.",
                "No operator has answered the call yet.",
            ),
            LiveError::NoMixableMedia => (
                "L'audio di questa chiamata non passa dal servizio in G.711: il mediatore non può essere aggiunto. Chiamalo dal telefono.",
                "This call's audio does not pass through the service in G.711: the mediator cannot be added. Call them from the phone.",
            ),
            LiveError::NoTrunk => (
                "Nessun trunk in uscita configurato ([sip] outbound): il mediatore non può essere chiamato.",
                "No outbound trunk is configured ([sip] outbound): the mediator cannot be called.",
            ),
            LiveError::MediatorAlready => (
                "Un mediatore è già in chiamata o sta squillando.",
                "A mediator is already on the call or ringing.",
            ),
            LiveError::NoMediator => (
                "Nessun mediatore è in chiamata.",
                "No mediator is on the call.",
            ),
            LiveError::RequestMoved => (
                "La richiesta è stata chiusa o cambiata nel frattempo: ricarica la pagina.",
                "The request was closed or changed meanwhile: reload the page.",
            ),
            LiveError::Storage => (
                "La richiesta non può essere aggiornata ora: riprova tra poco.",
                "The request cannot be updated now: try again shortly.",
            ),
            LiveError::NoMediaPorts => (
                "Nessuna porta audio libera per il mediatore: riprova tra poco.",
                "No audio port is free for the mediator: try again shortly.",
            ),
            LiveError::Dial => (
                "Il numero del mediatore non può essere chiamato: controlla il numero nell'elenco.",
                "The mediator's number cannot be dialled: check the number in the directory.",
            ),
        }
    }
}

type Registry = HashMap<CallId, mpsc::Sender<CallCommand>>;

/// The calls in progress on this node, by record id.
#[derive(Debug, Clone, Default)]
pub struct LiveCalls {
    calls: Arc<Mutex<Registry>>,
}

/// Keeps a call registered; dropping it (the call's end) takes the call off.
#[derive(Debug)]
pub struct Registered {
    calls: Arc<Mutex<Registry>>,
    id: CallId,
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.calls).remove(&self.id);
    }
}

fn lock(calls: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    // A map of senders, consistent after any panic: keep using it.
    calls.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveCalls {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a call; its commands arrive on the receiver until the guard is dropped.
    pub fn register(&self, id: CallId) -> (Registered, mpsc::Receiver<CallCommand>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        lock(&self.calls).insert(id, tx);
        let guard = Registered {
            calls: Arc::clone(&self.calls),
            id,
        };
        (guard, rx)
    }

    /// Whether the call is in progress on this node.
    pub fn is_live(&self, id: CallId) -> bool {
        lock(&self.calls).contains_key(&id)
    }

    /// Asks the call to dial a mediator in; returns once the mediator's phone is ringing.
    pub async fn add_mediator(&self, id: CallId, dial: MediatorDial) -> Result<(), LiveError> {
        self.ask(id, |reply| CallCommand::AddMediator { dial, reply })
            .await
    }

    /// Asks the call to hang up on its mediator.
    pub async fn drop_mediator(&self, id: CallId, by: i64) -> Result<(), LiveError> {
        self.ask(id, |reply| CallCommand::DropMediator { by, reply })
            .await
    }

    async fn ask(
        &self,
        id: CallId,
        command: impl FnOnce(oneshot::Sender<Result<(), LiveError>>) -> CallCommand,
    ) -> Result<(), LiveError> {
        let sender = lock(&self.calls).get(&id).cloned();
        let sender = sender.ok_or(LiveError::NotLive)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(command(reply))
            .await
            .map_err(|_| LiveError::NotLive)?;
        match tokio::time::timeout(ANSWER_WITHIN, answer).await {
            Ok(Ok(result)) => result,
            // The call ended with the command unanswered, or is stuck.
            Ok(Err(_)) | Err(_) => Err(LiveError::NotLive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dial() -> MediatorDial {
        MediatorDial {
            request: 1,
            code: "med-ru-1".into(),
            number: "+393000000901".into(),
            by: 7,
        }
    }

    #[tokio::test]
    async fn a_registered_call_gets_the_command_and_answers() {
        let live = LiveCalls::new();
        let id = CallId::new();
        let (guard, mut commands) = live.register(id);
        assert!(live.is_live(id));
        let call = tokio::spawn(async move {
            match commands.recv().await {
                Some(CallCommand::AddMediator { dial, reply }) => {
                    assert_eq!(dial.code, "med-ru-1");
                    reply.send(Ok(())).ok();
                }
                other => panic!("{other:?}"),
            }
            commands
        });
        assert_eq!(live.add_mediator(id, dial()).await, Ok(()));
        let _commands = call.await.unwrap();
        drop(guard);
        assert!(!live.is_live(id));
        assert_eq!(live.drop_mediator(id, 7).await, Err(LiveError::NotLive));
    }

    #[tokio::test]
    async fn a_call_that_ends_without_answering_is_not_live() {
        let live = LiveCalls::new();
        let id = CallId::new();
        let (_guard, mut commands) = live.register(id);
        tokio::spawn(async move {
            // Takes the command and drops it: the call ended meanwhile.
            let _ = commands.recv().await;
        });
        assert_eq!(live.drop_mediator(id, 7).await, Err(LiveError::NotLive));
    }

    #[test]
    fn every_error_reads_in_both_languages() {
        for e in [
            LiveError::NotLive,
            LiveError::NotAnswered,
            LiveError::NoMixableMedia,
            LiveError::NoTrunk,
            LiveError::MediatorAlready,
            LiveError::NoMediator,
            LiveError::RequestMoved,
            LiveError::Storage,
            LiveError::NoMediaPorts,
            LiveError::Dial,
        ] {
            let (it, en) = e.message();
            assert!(!it.is_empty() && !en.is_empty() && it != en);
        }
    }
}

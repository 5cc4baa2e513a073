//! The lifecycle of a call as a state machine. Every change is an event; a change the
//! machine does not allow is a typed error and nothing is written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    /// Arrived; nothing done yet.
    Offered,
    /// The caller is in the voice menu.
    Menu,
    /// Waiting for a free operator.
    Queued,
    /// Operators' phones are ringing.
    Ringing,
    /// An operator (or the on-call mobile) is talking with the caller.
    Answered,
    /// Finished after an answer.
    Ended,
    /// The caller hung up before anyone answered.
    Abandoned,
    /// Sent on to the on-call mobile because no operator answered.
    Overflowed,
    /// Nobody answered at all.
    Missed,
    /// A technical failure ended the call.
    Failed,
}

impl CallState {
    /// Every state, in lifecycle order.
    pub const ALL: [CallState; 10] = [
        CallState::Offered,
        CallState::Menu,
        CallState::Queued,
        CallState::Ringing,
        CallState::Answered,
        CallState::Ended,
        CallState::Abandoned,
        CallState::Overflowed,
        CallState::Missed,
        CallState::Failed,
    ];

    /// The name used in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Offered => "offered",
            CallState::Menu => "menu",
            CallState::Queued => "queued",
            CallState::Ringing => "ringing",
            CallState::Answered => "answered",
            CallState::Ended => "ended",
            CallState::Abandoned => "abandoned",
            CallState::Overflowed => "overflowed",
            CallState::Missed => "missed",
            CallState::Failed => "failed",
        }
    }

    /// A final state: no transition leaves it.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CallState::Ended | CallState::Abandoned | CallState::Missed | CallState::Failed
        )
    }

    /// Whether the machine allows `self → to`.
    pub fn can_become(self, to: CallState) -> bool {
        use CallState::*;
        match self {
            Offered => matches!(
                to,
                Menu | Queued | Ringing | Answered | Overflowed | Abandoned | Missed | Failed
            ),
            Menu => matches!(
                to,
                Queued | Ringing | Overflowed | Abandoned | Missed | Failed
            ),
            Queued => matches!(to, Ringing | Overflowed | Abandoned | Missed | Failed),
            // Back to the queue when the ringing phones time out and others may be free.
            Ringing => matches!(
                to,
                Answered | Queued | Overflowed | Abandoned | Missed | Failed
            ),
            Overflowed => matches!(to, Ringing | Answered | Abandoned | Missed | Failed),
            Answered => matches!(to, Ended | Failed),
            Ended | Abandoned | Missed | Failed => false,
        }
    }

    /// Checks `self → to`.
    pub fn transition(self, to: CallState) -> Result<CallState, IllegalTransition> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

impl fmt::Display for CallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a call state.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown call state `{0}`")]
pub struct UnknownState(pub String);

impl FromStr for CallState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CallState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// A transition the lifecycle does not allow.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
#[error("a call that is {from} cannot become {to}")]
pub struct IllegalTransition {
    /// Current state.
    pub from: CallState,
    /// Requested state.
    pub to: CallState,
}

#[cfg(test)]
mod tests {
    use super::CallState::*;
    use super::*;

    #[test]
    fn an_answered_call_can_only_end_or_fail() {
        for to in CallState::ALL {
            assert_eq!(
                Answered.can_become(to),
                matches!(to, Ended | Failed),
                "answered → {to}"
            );
        }
    }

    #[test]
    fn terminal_states_allow_nothing() {
        for from in CallState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in CallState::ALL {
                assert_eq!(from.transition(to), Err(IllegalTransition { from, to }));
            }
        }
    }

    #[test]
    fn no_state_becomes_offered_or_itself() {
        for from in CallState::ALL {
            assert!(!from.can_become(Offered));
            assert!(!from.can_become(from), "{from} → {from}");
        }
    }

    #[test]
    fn every_state_is_reachable_from_offered() {
        let mut reached = vec![Offered];
        let mut i = 0;
        while i < reached.len() {
            for to in CallState::ALL {
                if reached[i].can_become(to) && !reached.contains(&to) {
                    reached.push(to);
                }
            }
            i += 1;
        }
        assert_eq!(reached.len(), CallState::ALL.len());
    }

    #[test]
    fn names_round_trip() {
        for s in CallState::ALL {
            assert_eq!(s.as_str().parse::<CallState>(), Ok(s));
        }
        assert!("talking".parse::<CallState>().is_err());
    }
}

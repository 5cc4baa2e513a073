//! Domain values of a call record: its id, channel, events and the times derived from them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use utoipa::ToSchema;
use uuid::Uuid;

use super::state::CallState;

/// A call record's id: a UUIDv7, so ids sort by creation time and can be made before the
/// record is written (the SIP layer names the call at once).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = String, format = Uuid)]
pub struct CallId(pub Uuid);

impl CallId {
    /// A fresh id.
    pub fn new() -> Self {
        CallId(Uuid::now_v7())
    }
}

impl Default for CallId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for CallId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(CallId)
    }
}

// SQLite keeps the id as readable hyphenated text; PostgreSQL as its native uuid.
impl Type<Sqlite> for CallId {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for CallId {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(self.to_string(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for CallId {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, Sqlite>>::decode(value)?;
        Ok(text.parse()?)
    }
}

impl Type<Postgres> for CallId {
    fn type_info() -> PgTypeInfo {
        <Uuid as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for CallId {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Uuid as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for CallId {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(CallId(<Uuid as Decode<'r, Postgres>>::decode(value)?))
    }
}

/// How the call reached the help-line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The SIP trunk.
    Sip,
    /// A number hosted at a cloud telephony provider.
    Cpaas,
    /// Recorded by an operator: a call taken elsewhere, a walk-in, an e-mail.
    Manual,
}

impl Channel {
    /// The name used in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sip => "sip",
            Channel::Cpaas => "cpaas",
            Channel::Manual => "manual",
        }
    }
}

impl FromStr for Channel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sip" => Ok(Channel::Sip),
            "cpaas" => Ok(Channel::Cpaas),
            "manual" => Ok(Channel::Manual),
            other => Err(format!("unknown channel `{other}`")),
        }
    }
}

/// One step of a call's life.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CallEvent {
    /// 1 for `offered`, then 2, 3, …
    pub seq: i32,
    /// The state entered.
    pub state: CallState,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// A short machine reason (e.g. `no_operator_available`), never free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Times derived from the events.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Timings {
    /// When the call arrived.
    pub offered_at: DateTime<Utc>,
    /// When it was first answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it reached a final state.
    pub ended_at: Option<DateTime<Utc>>,
    /// Arrival to answer; for an unanswered call that is over, arrival to its end.
    pub wait_seconds: Option<f64>,
    /// Answer to end.
    pub talk_seconds: Option<f64>,
    /// The final state, once the call is over.
    pub final_state: Option<CallState>,
}

impl Timings {
    /// Derives the times from events in order; `None` when there are none.
    pub fn from_events(events: &[CallEvent]) -> Option<Self> {
        let offered_at = events.first()?.at;
        let answered_at = events
            .iter()
            .find(|e| e.state == CallState::Answered)
            .map(|e| e.at);
        let last = events.last()?;
        let (ended_at, final_state) = if last.state.is_terminal() {
            (Some(last.at), Some(last.state))
        } else {
            (None, None)
        };
        let secs = |from: DateTime<Utc>, to: DateTime<Utc>| {
            ((to - from).num_milliseconds() as f64) / 1000.0
        };
        let wait_seconds = match (answered_at, ended_at) {
            (Some(a), _) => Some(secs(offered_at, a)),
            (None, Some(e)) => Some(secs(offered_at, e)),
            (None, None) => None,
        };
        let talk_seconds = match (answered_at, ended_at) {
            (Some(a), Some(e)) => Some(secs(a, e)),
            _ => None,
        };
        Some(Timings {
            offered_at,
            answered_at,
            ended_at,
            wait_seconds,
            talk_seconds,
            final_state,
        })
    }
}

/// A call record as the API and the board see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallRecord {
    /// Id.
    pub id: CallId,
    /// How it arrived.
    pub channel: Channel,
    /// The help-line number dialled.
    pub line: Option<String>,
    /// Territory code guessed from the caller's landline prefix.
    pub territory_hint: Option<String>,
    /// Language of the conversation (ISO 639).
    pub language: Option<String>,
    /// Current state.
    pub state: CallState,
    /// Calls from the same number in the repeat-caller window before this one; absent for
    /// withheld numbers.
    pub previous_calls: Option<i64>,
    /// Derived times.
    pub timings: Timings,
    /// Every event, in order.
    pub events: Vec<CallEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ev(seq: i32, state: CallState, secs: i64) -> CallEvent {
        CallEvent {
            seq,
            state,
            at: Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
            reason: None,
        }
    }

    #[test]
    fn an_answered_call_has_wait_and_talk_times() {
        let t = Timings::from_events(&[
            ev(1, CallState::Offered, 0),
            ev(2, CallState::Ringing, 2),
            ev(3, CallState::Answered, 12),
            ev(4, CallState::Ended, 312),
        ])
        .unwrap();
        assert_eq!(t.wait_seconds, Some(12.0));
        assert_eq!(t.talk_seconds, Some(300.0));
        assert_eq!(t.final_state, Some(CallState::Ended));
    }

    #[test]
    fn an_abandoned_call_waited_until_the_caller_hung_up() {
        let t = Timings::from_events(&[
            ev(1, CallState::Offered, 0),
            ev(2, CallState::Abandoned, 40),
        ])
        .unwrap();
        assert_eq!(t.wait_seconds, Some(40.0));
        assert_eq!(t.talk_seconds, None);
        assert_eq!(t.final_state, Some(CallState::Abandoned));
    }

    #[test]
    fn a_call_still_ringing_has_no_final_state() {
        let t = Timings::from_events(&[ev(1, CallState::Offered, 0), ev(2, CallState::Ringing, 1)])
            .unwrap();
        assert_eq!((t.wait_seconds, t.final_state), (None, None));
    }
}

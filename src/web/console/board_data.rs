//! What the live call board shows, read in one go: calls ringing, queued or in
//! progress (with waiting time, language, territory hint and repeat-caller hint — from
//! the keyed hash, never a number) and each operator's status, which routing uses.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

use crate::calls::CallId;
use crate::db::{Db, DbError};
use crate::with_db;

/// Calls the board shows: not yet ended in any way.
const LIVE_STATES: &str = "('offered', 'menu', 'queued', 'ringing', 'answered')";

/// An operator's availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorStatus {
    /// Can take a call: routing rings this operator.
    Available,
    /// On a call.
    Busy,
    /// Not at the console.
    Away,
    /// Finishing the record of the last call.
    WrapUp,
}

impl OperatorStatus {
    /// Every status, in the order the console offers them.
    pub const ALL: [OperatorStatus; 4] = [
        OperatorStatus::Available,
        OperatorStatus::Busy,
        OperatorStatus::WrapUp,
        OperatorStatus::Away,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorStatus::Available => "available",
            OperatorStatus::Busy => "busy",
            OperatorStatus::Away => "away",
            OperatorStatus::WrapUp => "wrap_up",
        }
    }

    /// The console text key of its label.
    pub fn label_key(self) -> &'static str {
        match self {
            OperatorStatus::Available => "status.available",
            OperatorStatus::Busy => "status.busy",
            OperatorStatus::Away => "status.away",
            OperatorStatus::WrapUp => "status.wrap_up",
        }
    }
}

impl fmt::Display for OperatorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of the statuses.
#[derive(Debug, thiserror::Error)]
#[error("unknown operator status")]
pub struct UnknownStatus;

impl FromStr for OperatorStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OperatorStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or(UnknownStatus)
    }
}

/// One call on the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardCall {
    /// The call.
    pub id: CallId,
    /// Its state's stored name.
    pub state: String,
    /// When it arrived.
    pub opened_at: DateTime<Utc>,
    /// Conversation language, when known.
    pub language: Option<String>,
    /// Territory guessed from the caller's prefix.
    pub territory_hint: Option<String>,
    /// 1 for a first call, 3 for the third call in the window; none when withheld.
    pub ordinal: Option<i64>,
    /// Who answered.
    pub answered_by: Option<String>,
    /// Its intake, once opened.
    pub intake_id: Option<i64>,
}

/// One operator on the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardOperator {
    /// User id.
    pub user_id: i64,
    /// User name.
    pub username: String,
    /// Status.
    pub status: OperatorStatus,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
}

/// Everything on the board at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardSnapshot {
    /// Live calls, oldest first.
    pub calls: Vec<BoardCall>,
    /// Operators and supervisors, by name.
    pub operators: Vec<BoardOperator>,
}

type CallRow = (
    CallId,
    String,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

type OperatorRow = (i64, String, Option<String>, Option<DateTime<Utc>>);

/// Reads the board.
pub async fn load(
    db: &Db,
    now: DateTime<Utc>,
    repeat_window_days: u32,
) -> Result<BoardSnapshot, DbError> {
    let window_start = now - Duration::days(i64::from(repeat_window_days));
    let sql = format!(
        "select c.id, c.state, c.opened_at, c.language, c.territory_hint, \
           case when c.caller_hash is null then null else \
             (select count(*) from calls p where p.caller_hash = c.caller_hash \
                and p.opened_at >= $1 and p.opened_at < c.opened_at) + 1 end, \
           (select u.username from call_events e join users u on u.id = e.actor_user_id \
              where e.call_id = c.id and e.state = 'answered' limit 1), \
           (select min(i.id) from intakes i where i.call_id = c.id) \
         from calls c where c.state in {LIVE_STATES} order by c.opened_at, c.id"
    );
    let calls: Vec<CallRow> = with_db!(db, |pool| sqlx::query_as(&sql)
        .bind(window_start)
        .fetch_all(pool)
        .await?);
    let operators: Vec<OperatorRow> = with_db!(db, |pool| sqlx::query_as(
        "select u.id, u.username, s.status, s.since from users u \
         left join operator_status s on s.user_id = u.id \
         where u.active and u.role in ('operator', 'supervisor') order by u.username"
    )
    .fetch_all(pool)
    .await?);
    Ok(BoardSnapshot {
        calls: calls
            .into_iter()
            .map(
                |(
                    id,
                    state,
                    opened_at,
                    language,
                    territory_hint,
                    ordinal,
                    answered_by,
                    intake_id,
                )| BoardCall {
                    id,
                    state,
                    opened_at,
                    language,
                    territory_hint,
                    ordinal,
                    answered_by,
                    intake_id,
                },
            )
            .collect(),
        operators: operators
            .into_iter()
            .map(|(user_id, username, status, since)| BoardOperator {
                user_id,
                username,
                // Never set: not at the console, so routing does not ring them.
                status: status
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(OperatorStatus::Away),
                since,
            })
            .collect(),
    })
}

/// Sets an operator's status.
pub async fn set_status(
    db: &Db,
    user_id: i64,
    status: OperatorStatus,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    with_db!(db, |pool| sqlx::query(
        "insert into operator_status (user_id, status, since) values ($1, $2, $3) \
         on conflict (user_id) do update set status = excluded.status, since = excluded.since"
    )
    .bind(user_id)
    .bind(status.as_str())
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

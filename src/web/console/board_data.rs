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

/// A referral nobody has acknowledged for longer than its policy allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardAlert {
    /// The referral.
    pub referral_id: i64,
    /// Its intake (for the link).
    pub intake_id: i64,
    /// Its priority.
    pub priority: String,
    /// The unit's code.
    pub unit_code: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
}

/// What the board needs from the configuration.
#[derive(Debug, Clone)]
pub struct BoardSettings {
    /// The repeat-caller window, in days.
    pub repeat_window_days: u32,
    /// Priorities that turn the board red, and after how many minutes unacknowledged.
    pub red_alerts: Vec<(&'static str, u32)>,
}

impl BoardSettings {
    /// From the service's configuration.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let red_alerts = crate::triage::Priority::ALL
            .iter()
            .filter_map(|p| {
                config
                    .escalation
                    .policy(*p)
                    .red_alert_after_minutes
                    .map(|m| (p.as_str(), m))
            })
            .collect();
        Self {
            repeat_window_days: config.privacy.repeat_caller_window_days,
            red_alerts,
        }
    }
}

/// Everything on the board at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardSnapshot {
    /// Live calls, oldest first.
    pub calls: Vec<BoardCall>,
    /// Operators and supervisors, by name.
    pub operators: Vec<BoardOperator>,
    /// Referrals waiting too long for an acknowledgement, oldest first.
    pub alerts: Vec<BoardAlert>,
    /// Missed calls waiting for a callback, oldest first.
    pub callbacks: Vec<crate::calls::callbacks::Task>,
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
    settings: &BoardSettings,
) -> Result<BoardSnapshot, DbError> {
    let window_start = now - Duration::days(i64::from(settings.repeat_window_days));
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
    let mut alerts = Vec::new();
    for (priority, minutes) in &settings.red_alerts {
        let before = now - Duration::minutes(i64::from(*minutes));
        let rows: Vec<(i64, i64, String, String, DateTime<Utc>)> =
            with_db!(db, |pool| sqlx::query_as(
                "select id, intake_id, priority, unit_code, created_at from referrals \
             where state = 'sent' and priority = $1 and created_at <= $2 order by created_at, id"
            )
            .bind(priority)
            .bind(before)
            .fetch_all(pool)
            .await?);
        alerts.extend(rows.into_iter().map(
            |(referral_id, intake_id, priority, unit_code, sent_at)| BoardAlert {
                referral_id,
                intake_id,
                priority,
                unit_code,
                sent_at,
            },
        ));
    }
    Ok(BoardSnapshot {
        alerts,
        callbacks: crate::calls::callbacks::open_tasks(db).await?,
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

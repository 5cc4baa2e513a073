//! Requests for a linguistic-cultural mediator: asked by the operator for a language,
//! then moved through their states with a time for each (requested → accepted → joined
//! or called back → closed; unanswered → the next mediator). A mediator dialled into a
//! live call from the console goes requested → ringing → joined → left, moved by the
//! call itself (`telephony::sip::call`). The state machine is here; the console, the
//! notifications and the call drive it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::calls::CallId;
use crate::db::{Db, DbError};
use crate::with_db;

/// Where a mediation request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediationState {
    /// Asked for; no mediator reached yet.
    Requested,
    /// A mediator said yes.
    Accepted,
    /// The mediator's phone is ringing: dialled into the live call through the trunk.
    Ringing,
    /// The mediator is on the call.
    Joined,
    /// The mediator was on the call and has left it (dropped by the operator, or hung
    /// up); the call may go on without them.
    Left,
    /// The mediator will call back (through the help-line).
    CalledBack,
    /// The mediator tried did not answer: try the next one.
    Unanswered,
    /// Over.
    Closed,
}

impl MediationState {
    /// Every state.
    pub const ALL: [MediationState; 8] = [
        MediationState::Requested,
        MediationState::Accepted,
        MediationState::Ringing,
        MediationState::Joined,
        MediationState::Left,
        MediationState::CalledBack,
        MediationState::Unanswered,
        MediationState::Closed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MediationState::Requested => "requested",
            MediationState::Accepted => "accepted",
            MediationState::Ringing => "ringing",
            MediationState::Joined => "joined",
            MediationState::Left => "left",
            MediationState::CalledBack => "called_back",
            MediationState::Unanswered => "unanswered",
            MediationState::Closed => "closed",
        }
    }

    /// Italian and English labels.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            MediationState::Requested => ("richiesta", "requested"),
            MediationState::Accepted => ("accettata", "accepted"),
            MediationState::Ringing => ("il telefono squilla", "ringing"),
            MediationState::Joined => ("in chiamata", "joined"),
            MediationState::Left => ("uscita dalla chiamata", "left the call"),
            MediationState::CalledBack => ("richiamerà", "will call back"),
            MediationState::Unanswered => ("nessuna risposta", "unanswered"),
            MediationState::Closed => ("chiusa", "closed"),
        }
    }

    /// The states this one may move to.
    pub fn next(self) -> &'static [MediationState] {
        use MediationState::*;
        match self {
            Requested | Unanswered => &[Accepted, Ringing, Unanswered, Closed],
            Accepted => &[Ringing, Joined, CalledBack, Unanswered, Closed],
            // Dialled into the call: they answer, or not.
            Ringing => &[Joined, Unanswered, Closed],
            Joined => &[Left, Closed],
            // Dropped from the call, they may be dialled in again.
            Left => &[Ringing, Closed],
            CalledBack => &[Closed],
            Closed => &[],
        }
    }

    /// Whether moving to `to` needs the mediator concerned.
    pub fn names_mediator(to: MediationState) -> bool {
        matches!(
            to,
            MediationState::Accepted | MediationState::Unanswered | MediationState::Ringing
        )
    }

    /// Whether an operator may set this state by hand in the console. A mediator's
    /// phone ringing, or leaving the call, is what the call itself reports.
    pub fn manual(self) -> bool {
        !matches!(self, MediationState::Ringing | MediationState::Left)
    }
}

impl fmt::Display for MediationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MediationState {
    type Err = MediationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or(MediationError::UnknownState)
    }
}

/// Why a mediation request could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum MediationError {
    /// Not a state.
    #[error("unknown mediation state")]
    UnknownState,
    /// Not allowed from the current state.
    #[error("a {from} request cannot become {to}")]
    Illegal {
        /// Current.
        from: MediationState,
        /// Asked.
        to: MediationState,
    },
    /// The move needs a mediator.
    #[error("name the mediator")]
    MediatorNeeded,
    /// Changed meanwhile by someone else.
    #[error("the request changed meanwhile")]
    Conflict,
    /// No such request.
    #[error("no such mediation request")]
    NotFound,
    /// Storage.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for MediationError {
    fn from(e: sqlx::Error) -> Self {
        MediationError::Db(e.into())
    }
}

/// A request as the console shows it.
#[derive(Debug, Clone)]
pub struct Mediation {
    /// Id.
    pub id: i64,
    /// The call.
    pub call_id: Option<CallId>,
    /// The intake.
    pub intake_id: Option<i64>,
    /// Language asked for.
    pub language: String,
    /// Mediator concerned now.
    pub mediator_code: Option<String>,
    /// State.
    pub state: MediationState,
    /// Asked by.
    pub requested_by: String,
    /// Asked at.
    pub requested_at: DateTime<Utc>,
    /// Events: state, mediator, time.
    pub events: Vec<(MediationState, Option<String>, DateTime<Utc>)>,
}

/// Opens a request.
pub async fn request(
    db: &Db,
    call: Option<CallId>,
    intake: Option<i64>,
    language: &str,
    by: i64,
    now: DateTime<Utc>,
) -> Result<i64, MediationError> {
    let id = with_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "insert into mediation_requests (call_id, intake_id, language, state, requested_by, requested_at, updated_at) \
             values ($1, $2, $3, 'requested', $4, $5, $5) returning id",
        )
        .bind(call)
        .bind(intake)
        .bind(language)
        .bind(by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "insert into mediation_events (request_id, seq, state, at, actor_user_id) values ($1, 1, 'requested', $2, $3)",
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        id
    });
    Ok(id)
}

type Row = (
    i64,
    Option<CallId>,
    Option<i64>,
    String,
    Option<String>,
    String,
    String,
    DateTime<Utc>,
);

/// Reads a request with its events.
pub async fn get(db: &Db, id: i64) -> Result<Mediation, MediationError> {
    let row: Option<Row> = with_db!(db, |pool| {
        sqlx::query_as(
        "select m.id, m.call_id, m.intake_id, m.language, m.mediator_code, m.state, u.username, m.requested_at \
         from mediation_requests m join users u on u.id = m.requested_by where m.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    });
    let Some((id, call_id, intake_id, language, mediator_code, state, requested_by, requested_at)) =
        row
    else {
        return Err(MediationError::NotFound);
    };
    let events: Vec<(String, Option<String>, DateTime<Utc>)> = with_db!(db, |pool| {
        sqlx::query_as(
        "select state, mediator_code, at from mediation_events where request_id = $1 order by seq"
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    });
    Ok(Mediation {
        id,
        call_id,
        intake_id,
        language,
        mediator_code,
        state: state.parse()?,
        requested_by,
        requested_at,
        events: events
            .into_iter()
            .map(|(s, m, at)| Ok((s.parse()?, m, at)))
            .collect::<Result<_, MediationError>>()?,
    })
}

/// Moves a request to `to` (with the mediator concerned when the move names one).
pub async fn transition(
    db: &Db,
    id: i64,
    to: MediationState,
    mediator: Option<&str>,
    by: i64,
    now: DateTime<Utc>,
) -> Result<(), MediationError> {
    let current = get(db, id).await?;
    if !current.state.next().contains(&to) {
        return Err(MediationError::Illegal {
            from: current.state,
            to,
        });
    }
    let mediator = match (MediationState::names_mediator(to), mediator) {
        (true, None) => return Err(MediationError::MediatorNeeded),
        (true, Some(m)) => Some(m.to_string()),
        (false, _) => current.mediator_code.clone(),
    };
    let seq = current.events.len() as i64 + 1;
    with_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        // The event's key (request, seq) refuses a second change made from the same state.
        let inserted = sqlx::query(
            "insert into mediation_events (request_id, seq, state, mediator_code, at, actor_user_id) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(seq)
        .bind(to.as_str())
        .bind(&mediator)
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            return Err(match DbError::from(e) {
                e if e.is_unique_violation() => MediationError::Conflict,
                e => MediationError::Db(e),
            });
        }
        sqlx::query("update mediation_requests set state = $1, mediator_code = $2, updated_at = $3 where id = $4")
            .bind(to.as_str())
            .bind(&mediator)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    });
    Ok(())
}

/// Requests not closed, oldest first.
pub async fn open_requests(db: &Db) -> Result<Vec<Mediation>, MediationError> {
    let ids: Vec<i64> = with_db!(db, |pool| sqlx::query_scalar(
        "select id from mediation_requests where state <> 'closed' order by requested_at, id"
    )
    .fetch_all(pool)
    .await?);
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(get(db, id).await?);
    }
    Ok(out)
}

/// Mediators engaged now (accepted, being dialled, or on a call), so not free for
/// another request.
pub async fn engaged_mediators(db: &Db) -> Result<Vec<String>, MediationError> {
    Ok(with_db!(db, |pool| sqlx::query_scalar(
        "select distinct mediator_code from mediation_requests \
         where state in ('accepted', 'ringing', 'joined') and mediator_code is not null"
    )
    .fetch_all(pool)
    .await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_goes_to_a_mediator_or_to_the_next_one() {
        use MediationState::*;
        assert!(Requested.next().contains(&Accepted));
        assert!(Requested.next().contains(&Unanswered));
        assert!(Unanswered.next().contains(&Accepted), "the next mediator");
        assert!(Accepted.next().contains(&Joined));
        assert!(Accepted.next().contains(&CalledBack));
        assert!(
            !Requested.next().contains(&Joined),
            "nobody joins before accepting"
        );
        assert!(Closed.next().is_empty());
    }

    #[test]
    fn a_mediator_dialled_into_the_call_rings_joins_and_leaves() {
        use MediationState::*;
        assert!(Requested.next().contains(&Ringing));
        assert!(Ringing.next().contains(&Joined));
        assert!(Ringing.next().contains(&Unanswered), "nobody answered");
        assert!(Joined.next().contains(&Left));
        assert!(Left.next().contains(&Ringing), "dialled in again");
        assert!(!Requested.next().contains(&Left));
        assert!(MediationState::names_mediator(Ringing));
        assert!(!Ringing.manual() && !Left.manual() && Joined.manual());
        for s in MediationState::ALL {
            assert_eq!(s.as_str().parse::<MediationState>().unwrap(), s);
        }
    }
}

//! When no operator takes a call: who is rung next, and what is left if nobody is.
//!
//! The call goes out through the trunk to the mobile of the night operator on call (the
//! referral capability's rota, target "night operators", with the mobile set on the
//! user), else to the configured `sip.overflow_number`. When that too goes unanswered,
//! the call is missed and a callback task waits on the board with the caller's number
//! sealed (`calls::callbacks`).

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::app::AppState;
use crate::calls::callbacks;
use crate::calls::seal::NumberSeal;
use crate::calls::CallId;
use crate::db::DbError;
use crate::referral::{on_call, Person, Target};
use crate::telephony::config::Outbound;
use crate::with_db;

/// Where an unanswered call is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverflowTarget {
    /// The night operator on call, when the number is theirs.
    pub user_id: Option<i64>,
    /// E.164 number to dial through the trunk.
    pub number: String,
    /// The trunk.
    pub outbound: Outbound,
}

/// The on-call mobile for a call at `at`, or `None` when overflow is off or nobody has
/// a number. The rota comes first; the configured number is the fallback.
pub async fn target(state: &AppState, at: DateTime<Utc>) -> Option<OverflowTarget> {
    let outbound = state.config.sip.outbound_target().ok().flatten()?;
    let (user_id, number) = mobile(state, at).await?;
    Some(OverflowTarget {
        user_id,
        number,
        outbound,
    })
}

/// The on-call mobile at `at`, whoever carries the call there (the SIP trunk, or a
/// provider's `<Dial>`): the night operator on call with a mobile and their id, else the
/// configured number; `None` when neither.
pub async fn mobile(state: &AppState, at: DateTime<Utc>) -> Option<(Option<i64>, String)> {
    match night_operator(state, at).await {
        Ok(Some((user_id, number))) => return Some((Some(user_id), number)),
        Ok(None) => {}
        // The rota cannot be read: the configured number still gets the call.
        Err(e) => tracing::error!(error = %e, "night operators' rota not read"),
    }
    let number = crate::calls::caller::e164(&state.config.sip.overflow_number)
        .ok()
        .flatten()?;
    Some((None, number))
}

/// The first night operator on call at `at` with an active account and a mobile.
async fn night_operator(
    state: &AppState,
    at: DateTime<Utc>,
) -> Result<Option<(i64, String)>, DbError> {
    for on_call in on_call(&state.db, &Target::NightOperators, at).await? {
        let Person::User(id) = on_call.person else {
            continue;
        };
        let mobile: Option<Option<String>> = with_db!(&state.db, |pool| sqlx::query_scalar(
            "select mobile from users where id = $1 and active"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?);
        if let Some(number) = mobile
            .flatten()
            .and_then(|m| crate::calls::caller::e164(&m).ok().flatten())
        {
            return Ok(Some((id, number)));
        }
    }
    Ok(None)
}

/// Leaves a callback task for a missed call whose number was given.
pub async fn leave_callback(state: &AppState, call: CallId, number: Option<&SecretString>) {
    let Some(number) = number else {
        return;
    };
    let sealed = match NumberSeal::from_hasher(&state.hasher)
        .and_then(|seal| seal.seal(call, number.expose_secret()))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(%call, error = %e, "callback number not sealed");
            return;
        }
    };
    let hours = i64::from(state.config.privacy.callback_retention_hours);
    let now = state.clock.now();
    match callbacks::create(
        &state.db,
        &state.jobs,
        call,
        &sealed,
        now,
        Duration::hours(hours),
    )
    .await
    {
        Ok(_) => {
            metrics::counter!("helpline_callbacks_total").increment(1);
            state.board.poke();
        }
        Err(e) => tracing::error!(%call, error = %e, "callback task not recorded"),
    }
}

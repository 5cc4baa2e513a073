//! What supervisors must see: notifications that could not be handed over (failed for
//! good, or still retrying after an error) and SMS the provider reports undelivered.
//! Each line names the referral and the recipient's directory code, never an address.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::Role;
use crate::referral::escalation::NOTIFY;
use crate::with_db;

/// A notification job in trouble.
pub struct FailureRow {
    /// Referral, recipient, channel, step (from the job's payload).
    pub referral: i64,
    /// `contact:<code>` or `coordinator`.
    pub person: String,
    /// email or sms.
    pub channel: String,
    /// failed (given up) or pending (will retry).
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last error (no personal data).
    pub error: String,
    /// Next try, when retrying.
    pub next: Option<DateTime<Utc>>,
}

#[derive(Template)]
#[template(path = "failures.html")]
struct FailuresPage {
    chrome: Chrome,
    rows: Vec<FailureRow>,
    undelivered: Vec<Undelivered>,
}

/// An undelivered SMS: referral, recipient, status, when.
type Undelivered = (i64, String, String, DateTime<Utc>);

type JobRow = (String, String, i64, Option<String>, DateTime<Utc>);

/// `GET /notifications/failures`
pub async fn show(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = session.require(&[Role::Supervisor, Role::Admin]) {
        return e.into_response();
    }
    let jobs: Result<Vec<JobRow>, sqlx::Error> = with_db!(&state.db, |pool| sqlx::query_as(
        "select payload, state, cast(attempts as bigint), last_error, run_at from jobs \
         where kind = $1 and (state = 'failed' or (state = 'pending' and attempts > 0)) \
         order by created_at desc limit 200"
    )
    .bind(NOTIFY)
    .fetch_all(pool)
    .await);
    let undelivered: Result<Vec<Undelivered>, sqlx::Error> =
        with_db!(&state.db, |pool| sqlx::query_as(
            "select referral_id, person, status, at from deliveries \
         where status in ('failed', 'undelivered') order by at desc limit 200"
        )
        .fetch_all(pool)
        .await);
    let (jobs, undelivered) = match (jobs, undelivered) {
        (Ok(j), Ok(u)) => (j, u),
        (Err(e), _) | (_, Err(e)) => {
            return PageError::from_db(e.into(), session.lang).into_response()
        }
    };
    let rows = jobs
        .into_iter()
        .map(|(payload, state, attempts, error, run_at)| {
            let p: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
            let text = |k: &str| {
                p.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            FailureRow {
                referral: p
                    .get("referral")
                    .and_then(|v| v.as_i64())
                    .unwrap_or_default(),
                person: text("person"),
                channel: text("channel"),
                next: (state == "pending").then_some(run_at),
                state,
                attempts,
                error: error.unwrap_or_default(),
            }
        })
        .collect();
    render(&FailuresPage {
        chrome: Chrome::of(&session, "failures.title"),
        rows,
        undelivered,
    })
}

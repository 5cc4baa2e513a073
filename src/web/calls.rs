//! `/api/v1/calls`: open a call record, read it, move it through its lifecycle.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiUser, CallIdPath};
use crate::app::AppState;
use crate::auth::Role;
use crate::calls::{store, CallRecord, CallState, CallerFingerprint, Channel, NewCall, Transition};

/// Roles that may open and change call records.
const WRITERS: [Role; 3] = [Role::Operator, Role::Supervisor, Role::Admin];
/// Roles that may read them.
const READERS: [Role; 4] = [Role::Operator, Role::Supervisor, Role::Manager, Role::Admin];
/// Clock skew tolerated for times sent by clients.
const MAX_FUTURE_SKEW_SECS: i64 = 60;
/// How far back a call may be recorded (a call taken elsewhere, entered later).
const MAX_PAST_DAYS: i64 = 366;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/calls", post(open_call))
        .route("/api/v1/calls/{id}", get(get_call))
        .route("/api/v1/calls/{id}/events", post(add_event))
}

/// Opening a call record. The caller's number, when given, is turned into a keyed hash
/// and a territory hint at once and never stored. There is no field for a name.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCall {
    /// `manual` (default) for a call taken elsewhere, a walk-in or an e-mail.
    #[serde(default = "manual")]
    pub channel: Channel,
    /// The help-line number concerned, one of the configured lines.
    pub line: Option<String>,
    /// The caller's number, if known; hashed, never stored.
    pub caller_number: Option<String>,
    /// Conversation language, ISO 639 (`it`, `en`, `pcm`).
    pub language: Option<String>,
    /// When the call arrived (default: now).
    pub at: Option<DateTime<Utc>>,
}

fn manual() -> Channel {
    Channel::Manual
}

/// A change of state.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// The state the call enters.
    pub state: CallState,
    /// When (default: now); not before the call's last event.
    pub at: Option<DateTime<Utc>>,
    /// Short machine reason, `[a-z0-9_]`, e.g. `no_operator_available`.
    pub reason: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/calls", tag = "calls",
    request_body = OpenCall,
    responses(
        (status = 201, description = "Call record opened", body = CallRecord),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad token", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
/// Opens a call record in state `offered`.
pub async fn open_call(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<OpenCall>,
) -> Result<(StatusCode, HeaderMap, Json<CallRecord>), ApiError> {
    user.require(&WRITERS, "open call records")?;
    let now = Utc::now();
    if let Some(line) = &body.line {
        if !state.config.lines.iter().any(|l| &l.number == line) {
            let known: Vec<&str> = state
                .config
                .lines
                .iter()
                .map(|l| l.number.as_str())
                .collect();
            return Err(ApiError::invalid(
                "line",
                format!(
                    "not a line of this help-line; expected one of {}",
                    known.join(", ")
                ),
            ));
        }
    }
    if let Some(lang) = &body.language {
        if !is_language_code(lang) {
            return Err(ApiError::invalid(
                "language",
                "expected an ISO 639 code such as \"it\", \"en\" or \"pcm\"",
            ));
        }
    }
    let at = checked_time(body.at, now)?;
    let caller = match &body.caller_number {
        Some(raw) => state
            .hasher
            .fingerprint(raw, &state.directory.current())
            .map_err(|e| ApiError::invalid("caller_number", e.to_string()))?,
        None => CallerFingerprint {
            hash: None,
            territory_hint: None,
        },
    };
    let new = NewCall {
        channel: body.channel,
        line: body.line,
        caller,
        language: body.language,
        opened_by: Some(user.0.id),
    };
    let id = state.calls.open(new, at).await?;
    state.board.poke();
    let record = store::load(
        &state.db,
        id,
        state.config.privacy.repeat_caller_window_days,
    )
    .await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/calls/{id}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(record)))
}

#[utoipa::path(
    get, path = "/api/v1/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "Call id (UUID)")),
    responses(
        (status = 200, description = "The call record with its events and derived times", body = CallRecord),
        (status = 401, description = "Missing or bad token", body = ErrorBody),
        (status = 404, description = "Unknown id", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
/// Reads a call record.
pub async fn get_call(
    State(state): State<AppState>,
    user: ApiUser,
    CallIdPath(id): CallIdPath,
) -> Result<Json<CallRecord>, ApiError> {
    user.require(&READERS, "read call records")?;
    Ok(Json(
        store::load(
            &state.db,
            id,
            state.config.privacy.repeat_caller_window_days,
        )
        .await?,
    ))
}

#[utoipa::path(
    post, path = "/api/v1/calls/{id}/events", tag = "calls",
    params(("id" = String, Path, description = "Call id (UUID)")),
    request_body = NewEvent,
    responses(
        (status = 200, description = "Transition applied; the updated record", body = CallRecord),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad token", body = ErrorBody),
        (status = 404, description = "Unknown id", body = ErrorBody),
        (status = 409, description = "The lifecycle does not allow this transition", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
/// Moves a call to another state.
pub async fn add_event(
    State(state): State<AppState>,
    user: ApiUser,
    CallIdPath(id): CallIdPath,
    ApiJson(body): ApiJson<NewEvent>,
) -> Result<Json<CallRecord>, ApiError> {
    user.require(&WRITERS, "change call records")?;
    let at = checked_time(body.at, Utc::now())?;
    if let Some(reason) = &body.reason {
        // A code, never data: it starts with a letter and has too few digits to hold
        // a phone number.
        let ok = (1..=64).contains(&reason.len())
            && reason.starts_with(|c: char| c.is_ascii_lowercase())
            && reason
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && reason.bytes().filter(u8::is_ascii_digit).count() <= 4;
        if !ok {
            return Err(ApiError::invalid(
                "reason",
                "expected a short code of a-z, 0-9 and _ starting with a letter, at most 4 digits (no free text)",
            ));
        }
    }
    let change = Transition {
        to: body.state,
        at,
        reason: body.reason,
        actor_user_id: Some(user.0.id),
    };
    state.calls.transition(id, change).await?;
    state.board.poke();
    Ok(Json(
        store::load(
            &state.db,
            id,
            state.config.privacy.repeat_caller_window_days,
        )
        .await?,
    ))
}

fn checked_time(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    match at {
        None => Ok(now),
        Some(t) if t > now + Duration::seconds(MAX_FUTURE_SKEW_SECS) => {
            Err(ApiError::invalid("at", "the time is in the future"))
        }
        Some(t) if t < now - Duration::days(MAX_PAST_DAYS) => Err(ApiError::invalid(
            "at",
            format!("the time is more than {MAX_PAST_DAYS} days ago"),
        )),
        Some(t) => Ok(t),
    }
}

/// ISO 639-1 or 639-3: two or three lowercase letters.
pub fn is_language_code(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

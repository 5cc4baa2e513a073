//! The SMS provider's webhooks: delivery status of the notifications sent, and replies
//! from contacts — `OK <referral number>` acknowledges a referral. Every request must
//! carry a valid `X-Twilio-Signature` (HMAC-SHA1 of the public URL configured at the
//! provider plus the sorted parameters, keyed by the auth token); anything else gets
//! 403, is counted, and changes nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};

use crate::app::AppState;
use crate::db::audit::{self, AuditEntry};
use crate::referral::notify::{form_params, signature, InboundSms, StatusCallback, EMPTY_TWIML};
use crate::referral::referrals::{self, AckError};
use crate::with_db;

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/referrals/sms/status", post(status))
        .route("/referrals/sms/inbound", post(inbound))
}

/// A TwiML answer (the SMS hooks' and the provider-hosted numbers' voice hooks').
pub(crate) fn twiml(body: impl IntoResponse) -> Response {
    ([(CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// A webhook without a valid signature: 403, counted by hook, nothing else done.
pub(crate) fn refused(hook: &'static str) -> Response {
    metrics::counter!("helpline_webhook_refused_total", "hook" => hook).increment(1);
    tracing::warn!(hook, "webhook refused: missing or invalid signature");
    (StatusCode::FORBIDDEN, "invalid signature").into_response()
}

/// The form parameters of a request whose `X-Twilio-Signature` is valid for `url` under
/// `token`, or `None` (these hooks' check, and the provider-hosted numbers' voice hooks').
pub(crate) fn verified(
    token: &SecretString,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Vec<(String, String)>> {
    let header = headers.get("x-twilio-signature")?.to_str().ok()?;
    let params = form_params(body);
    signature::is_valid(token.expose_secret(), url, &params, header).then_some(params)
}

/// The parameters of a request signed for `url`, or `None`.
fn signed(
    state: &AppState,
    url: Option<&String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Vec<(String, String)>> {
    let token = state.config.notify.sms.auth_token.as_ref()?;
    verified(token, url?, headers, body)
}

/// `POST /referrals/sms/status`: a notification's delivery status (the provider retries,
/// so recording the same status twice changes nothing).
async fn status(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let url = state.config.notify.sms.status_callback_url.as_ref();
    let Some(params) = signed(&state, url, &headers, &body) else {
        return refused("sms_status");
    };
    let Some(callback) = StatusCallback::from_params(&params) else {
        return (
            StatusCode::BAD_REQUEST,
            "MessageSid and MessageStatus are required",
        )
            .into_response();
    };
    let status = callback.status.as_str().to_string();
    let updated = with_db!(&state.db, |pool| sqlx::query(
        "update deliveries set status = $1 where provider_id = $2 and channel = 'sms'"
    )
    .bind(&status)
    .bind(&callback.message_sid)
    .execute(pool)
    .await
    .map(|_| ()));
    match updated {
        Ok(_) => {
            if callback.status.is_failure() {
                tracing::warn!(sid = %callback.message_sid, status, "SMS not delivered");
                metrics::counter!("helpline_sms_undelivered_total").increment(1);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        // The provider tries again later: nothing is lost.
        Err(e) => {
            tracing::error!(error = %e, "SMS status not recorded");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

/// `POST /referrals/sms/inbound`: a reply from a contact; `OK 42` acknowledges
/// referral 42 if the sender is a contact of its unit (or the coordinator).
async fn inbound(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let url = state.config.notify.sms.inbound_url.as_ref();
    let Some(params) = signed(&state, url, &headers, &body) else {
        return refused("sms_inbound");
    };
    let Some(sms) = InboundSms::from_params(&params) else {
        return (StatusCode::BAD_REQUEST, "From and Body are required").into_response();
    };
    let Some(code) = sms.ack_code() else {
        tracing::info!("an SMS reply that is not an acknowledgement; ignored");
        return twiml(EMPTY_TWIML);
    };
    let Ok(id) = code.parse::<i64>() else {
        return twiml(EMPTY_TWIML);
    };
    let from = digits(&sms.from);
    let directory = state.directory.current();
    let referral = match referrals::get(&state.db, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return twiml(EMPTY_TWIML),
        Err(e) => {
            tracing::error!(error = %e, "SMS reply not recorded");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    // Who is answering: a contact of the referral's unit (no contact belongs to the
    // coordinator's pseudo-unit), or the coordinator, who may answer any referral.
    let who = directory
        .contacts
        .iter()
        .find(|c| digits(&c.mobile) == from && c.unit == referral.unit_code)
        .map(|c| c.code.clone())
        .or_else(|| {
            (digits(&directory.coordinator.mobile) == from).then(|| "coordinator".to_string())
        });
    let Some(who) = who else {
        tracing::warn!(
            referral = id,
            "an acknowledgement SMS from a number not of the referral's unit; ignored"
        );
        return twiml(EMPTY_TWIML);
    };
    match referrals::answer(&state.db, id, true, &who, "sms", "", Utc::now()).await {
        Ok(()) | Err(AckError::AlreadyAnswered(_)) => {}
        Err(AckError::NotFound) => return twiml(EMPTY_TWIML),
        Err(AckError::Db(e)) => {
            tracing::error!(error = %e, "SMS acknowledgement not recorded");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    let entry = AuditEntry {
        actor_user_id: None,
        actor: format!("contact:{who}"),
        action: "referral.answer",
        object_kind: "referral",
        object_id: id.to_string(),
        address: None,
        detail: serde_json::json!({ "via": "sms", "answer": "accept" }),
    };
    if let Err(e) = audit::append(&state.db, Utc::now(), &entry).await {
        tracing::error!(error = %e, "SMS acknowledgement not audited");
    }
    twiml(EMPTY_TWIML)
}

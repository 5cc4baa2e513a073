//! The webhooks a Twilio-compatible provider calls for a hosted number:
//!
//! - `POST /telephony/twilio/voice`: a call arrives; the record is opened (channel
//!   `cpaas`, the `From` number kept only as keyed hash and territory hint);
//! - `POST /telephony/twilio/gather`: the key pressed in the language menu (or none);
//! - `POST /telephony/twilio/dial?step=…`: how a `<Dial>` ended (`DialCallStatus`);
//! - `POST /telephony/twilio/status`: `CallStatus` of the call, and (with `user=` in the
//!   query) of a dialled operator's or mobile's leg: who answered.
//!
//! Every request must carry a valid `X-Twilio-Signature` for the public URL it was sent
//! to (`http.public_url` + path and query): without one, 403, counted, nothing recorded.

use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use secrecy::SecretString;
use serde::Deserialize;

use super::flow::{Call, Plan, Step};
use super::twiml::{self, Verb};
use crate::app::AppState;
use crate::calls::{
    store, CallId, CallState, CallerFingerprint, Channel, NewCall, Opened, Transition,
};
use crate::config::LineConfig;
use crate::telephony::media::Language;
use crate::web::sms_hooks::{self, refused};

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/telephony/twilio/voice", post(voice))
        .route("/telephony/twilio/gather", post(gather))
        .route("/telephony/twilio/dial", post(dial))
        .route("/telephony/twilio/status", post(status))
}

/// A webhook's form parameters, once its signature is checked.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn xml(response: &twiml::Response) -> Response {
    sms_hooks::twiml(response.to_xml())
}

/// Why a webhook is not taken.
enum Unsigned {
    /// The webhooks are off: as if they did not exist.
    Off,
    /// No valid signature for this hook.
    Refused(&'static str),
    /// A body that cannot be read (or is far larger than any webhook's).
    Unreadable,
}

impl IntoResponse for Unsigned {
    fn into_response(self) -> Response {
        match self {
            Unsigned::Off => StatusCode::NOT_FOUND.into_response(),
            Unsigned::Refused(hook) => refused(hook),
            Unsigned::Unreadable => bad_request("unreadable body"),
        }
    }
}

/// A webhook's form parameters, its `X-Twilio-Signature` checked for the public URL it
/// was sent to (`http.public_url` + path and query).
struct Signed(Params);

/// A provider's webhook is a short form; anything much larger is not one.
const BODY_LIMIT: usize = 64 * 1024;

impl FromRequest<AppState> for Signed {
    type Rejection = Unsigned;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Unsigned> {
        let tw = &state.config.twilio;
        if !tw.enabled {
            return Err(Unsigned::Off);
        }
        let (mut parts, body) = req.into_parts();
        let Ok(OriginalUri(uri)) = OriginalUri::from_request_parts(&mut parts, state).await;
        // The hook's name in the refusals' metric.
        let hook = match uri.path().rsplit('/').next() {
            Some("voice") => "twilio_voice",
            Some("gather") => "twilio_gather",
            Some("dial") => "twilio_dial",
            Some("status") => "twilio_status",
            _ => "twilio",
        };
        let Some(token) = tw.auth_token.as_ref() else {
            return Err(Unsigned::Refused(hook));
        };
        let url = format!(
            "{}{}",
            state.config.http.public_url.trim_end_matches('/'),
            uri.path_and_query().map_or("", |p| p.as_str())
        );
        let body = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map_err(|_| Unsigned::Unreadable)?;
        sms_hooks::verified(token, &url, &parts.headers, &body)
            .map(|p| Signed(Params(p)))
            .ok_or(Unsigned::Refused(hook))
    }
}

/// What the action and callback URLs we hand the provider carry in their query (all
/// optional, so that an unsigned request is refused for its signature, not its query).
#[derive(Debug, Default, Deserialize)]
struct Steps {
    /// The `<Dial>` an outcome is for.
    step: Option<String>,
    /// The caller's language, after the menu.
    lang: Option<String>,
    /// The operator whose leg a status is for.
    user: Option<String>,
    /// `mobile` for the on-call mobile's leg.
    leg: Option<String>,
}

fn bad_request(why: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, why).into_response()
}

fn unavailable() -> Response {
    // The provider retries on a 5xx; the retry is idempotent.
    (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
}

/// The call of a webhook that names a CallSid, with the caller's number for a callback.
async fn call_for<'a>(state: &'a AppState, params: &Params) -> Result<Call<'a>, Response> {
    let sid = params
        .get("CallSid")
        .ok_or_else(|| bad_request("CallSid is required"))?;
    let mut call = call_named(state, sid).await?;
    call.from = params
        .get("From")
        .map(|f| SecretString::from(f.to_string()));
    Ok(call)
}

/// The call a CallSid names (without the caller's number).
async fn call_named<'a>(state: &'a AppState, sid: &str) -> Result<Call<'a>, Response> {
    match store::provider_call(&state.db, sid).await {
        Ok(Some(id)) => Ok(Call {
            state,
            id,
            from: None,
        }),
        Ok(None) => Err((StatusCode::NOT_FOUND, "unknown CallSid").into_response()),
        Err(e) => {
            tracing::error!(error = %e, "provider call not read");
            Err(unavailable())
        }
    }
}

/// `POST /telephony/twilio/voice`: a call arrives.
async fn voice(State(state): State<AppState>, Signed(params): Signed) -> Response {
    let Some(sid) = params.get("CallSid") else {
        return bad_request("CallSid is required");
    };
    let from = params.get("From").unwrap_or_default();
    let dialled: String = params
        .get("To")
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .take(20)
        .collect();
    let line = state
        .config
        .lines
        .iter()
        .find(|l| dialled == l.number || dialled.strip_prefix("39") == Some(l.number.as_str()));
    let call = Call {
        state: &state,
        id: CallId::new(),
        from: Some(SecretString::from(from.to_string())),
    };
    let plan = first_step(&call, line).await;
    let caller = state
        .hasher
        .fingerprint(from, &state.directory.current())
        .unwrap_or(CallerFingerprint {
            hash: None,
            territory_hint: None,
        });
    let new = NewCall {
        channel: Channel::Cpaas,
        line: Some(line.map_or(dialled.clone(), |l| l.number.clone())),
        caller,
        language: None,
        opened_by: None,
    };
    let now = state.clock.now();
    let moves = plan
        .moves
        .iter()
        .map(|(to, reason)| Transition {
            to: *to,
            at: now,
            reason: Some((*reason).to_string()),
            actor_user_id: None,
        })
        .collect();
    // The record, its CallSid and the step's moves in one durable write.
    match state
        .calls
        .open_from_provider(call.id, new, now, sid, moves)
        .await
    {
        Ok(Opened::New) => {
            metrics::counter!("helpline_cpaas_calls_total").increment(1);
            plan.count();
            state.board.poke();
            xml(&call.after_moves(plan).await)
        }
        // Posted again (the provider did not get our answer, or sent it twice at once):
        // the same step for the call the CallSid names; a move made already is skipped.
        Ok(Opened::Known(id)) => xml(&Call { id, ..call }.carry_out(plan).await),
        Err(e) => {
            tracing::error!(error = %e, "call record not opened");
            unavailable()
        }
    }
}

/// The first step of a call on `line` (none: a number not configured here).
async fn first_step(call: &Call<'_>, line: Option<&LineConfig>) -> Plan {
    let Some(line) = line else {
        return Plan {
            moves: vec![(CallState::Failed, "unknown_line")],
            twiml: twiml::Response::new().then(Verb::Hangup),
            callback: false,
        };
    };
    let now = call.state.clock.now();
    if !line.open_schedule().plays_at(now) {
        return Plan::missed("line_closed");
    }
    if call.state.config.sip.menu && line.menu_schedule().plays_at(now) {
        return Plan {
            moves: vec![(CallState::Menu, "menu")],
            twiml: call.menu(),
            callback: false,
        };
    }
    call.plan_dial(None, None)
        .await
        .after(&[(CallState::Queued, "cpaas")])
}

/// `POST /telephony/twilio/gather`: the menu's key (`Digits`), or none.
async fn gather(State(state): State<AppState>, Signed(params): Signed) -> Response {
    let call = match call_for(&state, &params).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let key = params
        .get("Digits")
        .and_then(|d| d.chars().next())
        .and_then(crate::telephony::media::Key::from_char);
    let language = Language::chosen(key, &state.config.sip.offered_languages());
    let now = store::state(&state.db, call.id).await.ok().flatten();
    if now == Some(CallState::Menu) {
        if let Err(e) = store::set_language(&state.db, call.id, language.code()).await {
            tracing::error!(call = %call.id, error = %e, "language not stored");
        }
        metrics::counter!("helpline_cpaas_menu_choices_total", "language" => language.code())
            .increment(1);
    }
    let plan = call
        .plan_dial(None, Some(language))
        .await
        .after(&[(CallState::Queued, "menu")]);
    xml(&call.carry_out_from(now, plan).await)
}

/// `POST /telephony/twilio/dial?step=…&lang=…`: how a `<Dial>` ended.
async fn dial(
    State(state): State<AppState>,
    Query(q): Query<Steps>,
    Signed(params): Signed,
) -> Response {
    let Some(step) = q.step.as_deref().and_then(Step::parse) else {
        return bad_request("step is required");
    };
    let language = q.lang.as_deref().and_then(Language::from_code);
    let call = match call_for(&state, &params).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match params.get("DialCallStatus").unwrap_or_default() {
        // Someone answered and the conversation is over.
        "completed" | "answered" => {
            call.move_to(CallState::Answered, answered(step == Step::Mobile), None)
                .await;
            call.move_to(CallState::Ended, "dial_completed", None).await;
            xml(&twiml::Response::new().then(Verb::Hangup))
        }
        _ if matches!(params.get("CallStatus"), Some("completed" | "canceled")) => {
            // The caller hung up while the phones rang.
            call.move_to(CallState::Abandoned, "caller_hung_up", None)
                .await;
            xml(&twiml::Response::new())
        }
        // busy, no-answer, failed, canceled: the next step.
        _ => xml(&call.next_dial(Some(step), language).await),
    }
}

/// The reason an answer is recorded with: the on-call mobile's, or an operator's.
fn answered(mobile: bool) -> &'static str {
    if mobile {
        "overflow_answered"
    } else {
        "cpaas_answered"
    }
}

/// `POST /telephony/twilio/status`: the call's status, or (`user=`, `leg=mobile`) that
/// of a dialled leg.
async fn status(
    State(state): State<AppState>,
    Query(q): Query<Steps>,
    Signed(params): Signed,
) -> Response {
    let status = params.get("CallStatus").unwrap_or_default();
    if let Some(parent) = params.get("ParentCallSid") {
        // A dialled leg: its answer says who took the call.
        let call = match call_named(&state, parent).await {
            Ok(c) => c,
            Err(r) => return r,
        };
        if status == "in-progress" || status == "answered" {
            let user = q.user.as_deref().and_then(|u| u.parse::<i64>().ok());
            let mobile = q.leg.as_deref() == Some("mobile");
            call.move_to(CallState::Answered, answered(mobile), user)
                .await;
        }
        return StatusCode::NO_CONTENT.into_response();
    }
    let call = match call_for(&state, &params).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match status {
        "completed" | "canceled" | "busy" | "no-answer" => {
            let now = store::state(&state.db, call.id).await.ok().flatten();
            if now == Some(CallState::Answered) {
                call.move_to(CallState::Ended, "call_completed", None).await;
            } else {
                call.move_to(CallState::Abandoned, "caller_hung_up", None)
                    .await;
            }
        }
        "failed" => call.move_to(CallState::Failed, "cpaas_failed", None).await,
        // queued, ringing, in-progress: the webhooks of the steps say more.
        _ => {}
    }
    StatusCode::NO_CONTENT.into_response()
}

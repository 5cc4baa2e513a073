//! A mediator dialled into the call of a mediation request, from its page: the chosen
//! mediator, or the first mediator on call for the language who is free and has a
//! number, is called through the trunk and joins the call when they answer
//! (`telephony::sip::call::mediator`); the operator can drop them again. The request
//! moves ringing → joined → left as the call reports it. Every step is audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::form::Posted;
use super::intake::INTAKE_ROLES;
use super::mediation_page::{audited_back, mediation_error, mediator_rows};
use super::page::PageError;
use crate::app::AppState;
use crate::calls::caller::e164;
use crate::calls::CallId;
use crate::telephony::live::{LiveError, MediatorDial};
use crate::triage::mediation::{self, Mediation};
use crate::web::i18n::Lang;

fn live_error(e: &LiveError, lang: Lang) -> Response {
    let (it, en) = e.message();
    let status = match e {
        LiveError::NotLive | LiveError::NoMediator => StatusCode::CONFLICT,
        LiveError::NoTrunk | LiveError::Dial | LiveError::Storage | LiveError::NoMediaPorts => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    PageError::new(status, lang, lang.pick(it, en)).into_response()
}

fn refused(lang: Lang, it: &str, en: &str) -> Response {
    PageError::new(StatusCode::UNPROCESSABLE_ENTITY, lang, lang.pick(it, en)).into_response()
}

/// The request and its call, when it has one.
async fn request_and_call(
    state: &AppState,
    id: i64,
    lang: Lang,
) -> Result<(Mediation, CallId), Response> {
    let m = mediation::get(&state.db, id)
        .await
        .map_err(|e| mediation_error(e, lang))?;
    let Some(call) = m.call_id else {
        return Err(refused(
            lang,
            "Questa richiesta non è legata a una chiamata: il mediatore va chiamato a parte.",
            "This request has no call: the mediator must be called separately.",
        ));
    };
    Ok((m, call))
}

/// The mediator to dial: `chosen` (a mediator of the directory who speaks the language),
/// else the first on call for it who is not engaged elsewhere and has a number; the
/// same list the page shows ([`mediator_rows`]).
async fn mediator_to_dial(
    state: &AppState,
    m: &Mediation,
    chosen: Option<&str>,
    lang: Lang,
) -> Result<(String, String), Response> {
    let rows = mediator_rows(state, m, lang).await?;
    let number = |mobile: &str| e164(mobile).ok().flatten();
    if let Some(code) = chosen {
        let Some(d) = rows.iter().find(|d| d.code == code) else {
            return Err(refused(
                lang,
                "Scegli un mediatore che parla la lingua della richiesta.",
                "Choose a mediator who speaks the request's language.",
            ));
        };
        let Some(n) = number(&d.mobile) else {
            return Err(no_number(lang));
        };
        return Ok((d.code.clone(), n));
    }
    rows.iter()
        .filter(|d| d.on_call && !d.engaged)
        .find_map(|d| Some((d.code.clone(), number(&d.mobile)?)))
        .ok_or_else(|| {
            refused(
                lang,
                "Nessun mediatore reperibile e libero per questa lingua ha un numero di telefono: scegline uno dall'elenco.",
                "No free mediator on call for this language has a phone number: choose one from the list.",
            )
        })
}

fn no_number(lang: Lang) -> Response {
    refused(
        lang,
        "Questo mediatore non ha un numero di cellulare valido nell'elenco.",
        "This mediator has no valid mobile number in the directory.",
    )
}

/// `POST /mediation/{id}/call`: dials the mediator (`mediator`, or the one on call)
/// into the request's call.
pub async fn dial(State(state): State<AppState>, Path(id): Path<i64>, posted: Posted) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let (m, call) = match request_and_call(&state, id, lang).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let chosen = Some(form.text("mediator")).filter(|c| !c.is_empty());
    let (code, number) = match mediator_to_dial(&state, &m, chosen, lang).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let dial = MediatorDial {
        request: id,
        code: code.clone(),
        number,
        by: session.user.id,
    };
    if let Err(e) = state.live.add_mediator(call, dial).await {
        return live_error(&e, lang);
    }
    let detail = serde_json::json!({ "call": call.to_string(), "mediator": code });
    audited_back(&state, &session, "mediation.dial", id, detail).await
}

/// `POST /mediation/{id}/drop`: hangs up on the mediator; caller and operator go on.
pub async fn hang_up(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Response {
    let Posted { session, .. } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let (m, call) = match request_and_call(&state, id, lang).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(e) = state.live.drop_mediator(call, session.user.id).await {
        return live_error(&e, lang);
    }
    let detail = serde_json::json!({ "call": call.to_string(), "mediator": m.mediator_code });
    audited_back(&state, &session, "mediation.drop", id, detail).await
}

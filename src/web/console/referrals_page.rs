//! Referrals in the console. Operators see the routing proposal for an intake (units and
//! the reason for each), may change the unit, and send; territorial contacts see their
//! unit's referrals only, and accept or decline them; anyone holding a valid
//! acknowledgement link may answer it once, without signing in. Every view and change of
//! a referral is audited.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

use super::form::{read_form, Posted};
use super::intake::{audited, intake_error, INTAKE_ROLES};
use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::{manage, Role};
use crate::db::audit::{self, AuditEntry};
use crate::referral::directory::Unit;
use crate::referral::links::{self, LinkError};
use crate::referral::referrals::{self, AckError, NewReferral, Referral, COORDINATOR};
use crate::referral::rota::{self, Target};
use crate::referral::routing::{self, Proposal};
use crate::triage::intakes::{self, Intake};
use crate::triage::{find_identifying, Answer, Text};
use crate::web::i18n::Lang;

/// Which of `units` have somebody on call now who is still in the directory for the
/// unit (a rota may name someone who has since left it).
async fn staffed_units(
    state: &AppState,
    units: &[&Unit],
    now: DateTime<Utc>,
) -> Result<HashSet<String>, crate::db::DbError> {
    let mut staffed = HashSet::new();
    for unit in units {
        let people = rota::on_call(&state.db, &Target::Unit(unit.code.clone()), now).await?;
        let reachable = people.iter().any(|oc| match &oc.person {
            rota::Person::Contact(code) => state
                .directory
                .current()
                .contacts
                .iter()
                .any(|c| &c.code == code && c.unit == unit.code),
            _ => false,
        });
        if reachable {
            staffed.insert(unit.code.clone());
        }
    }
    Ok(staffed)
}

/// The routing proposal for an intake's answers and triage.
pub async fn proposal(
    state: &AppState,
    intake: &Intake,
) -> Result<Vec<Proposal>, crate::db::DbError> {
    let Some(triage) = &intake.triage else {
        return Ok(Vec::new());
    };
    let request = routing::Request {
        services: &triage.services,
        territory: intake.answers.choice("territory"),
        language: intake.answers.choice("language"),
    };
    // Ask the rotas only about the units routing may choose: those of the territory and
    // its neighbours that offer a service needed.
    let directory = state.directory.current();
    let candidates = routing::candidates(&directory, &request);
    let staffed = staffed_units(state, &candidates, state.clock.now()).await?;
    Ok(routing::propose(&directory, &request, &|u| {
        staffed.contains(&u.code)
    }))
}

/// A unit's name, or the coordinator's.
pub fn unit_name(state: &AppState, lang: Lang, code: &str) -> String {
    if code == COORDINATOR {
        return lang
            .pick("Coordinamento regionale", "Regional coordinator")
            .to_string();
    }
    state
        .directory
        .current()
        .units
        .iter()
        .find(|u| u.code == code)
        .map(|u| u.name.clone())
        .unwrap_or_else(|| code.to_string())
}

/// `POST /intakes/{id}/referrals`: sends the rows ticked (`send` = row index), each to
/// the unit chosen in `unit_N` (the proposal's unless the operator changed it).
pub async fn send(State(state): State<AppState>, Path(id): Path<i64>, posted: Posted) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let intake = match intakes::get(&state.db, id).await {
        Ok(i) => i,
        Err(e) => return intake_error(e, lang),
    };
    let proposals = match proposal(&state, &intake).await {
        Ok(p) => p,
        Err(e) => return PageError::from_db(e, lang).into_response(),
    };
    let message = form.text("message");
    if let Some(found) = find_identifying(message) {
        return PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            lang.pick(found.it(), found.en()),
        )
        .into_response();
    }
    let chosen: Vec<usize> = form
        .0
        .iter()
        .filter(|(k, _)| k == "send")
        .filter_map(|(_, v)| v.parse().ok())
        .filter(|i| *i < proposals.len())
        .collect();
    if chosen.is_empty() {
        return PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            lang.pick(
                "Scegli almeno un'unità a cui inviare.",
                "Choose at least one unit to send to.",
            ),
        )
        .into_response();
    }
    let Some(priority) = intake.priority() else {
        return PageError::bad_form(lang).into_response();
    };
    let exploitation = match intake.answers.get("exploitation") {
        Some(Answer::Choices(c)) => c.clone(),
        _ => Vec::new(),
    };
    let now = Utc::now();
    for i in chosen {
        let p = &proposals[i];
        let proposed = p.unit.clone().unwrap_or_else(|| COORDINATOR.to_string());
        let unit = form.text(&format!("unit_{i}"));
        let unit = if unit.is_empty() {
            proposed.clone()
        } else {
            unit.to_string()
        };
        if unit != COORDINATOR
            && !state
                .directory
                .current()
                .active_units()
                .any(|u| u.code == unit)
        {
            return PageError::bad_form(lang).into_response();
        }
        let reason = if unit == proposed {
            p.reason.clone()
        } else {
            let (from, to) = (
                unit_name(&state, Lang::It, &proposed),
                unit_name(&state, Lang::It, &unit),
            );
            let (from_en, to_en) = (
                unit_name(&state, Lang::En, &proposed),
                unit_name(&state, Lang::En, &unit),
            );
            Text::new(
                format!(
                    "Scelta dall'operatore: {to} al posto di {from} (proposta: {})",
                    p.reason.it
                ),
                format!(
                    "Chosen by the operator: {to_en} instead of {from_en} (proposed: {})",
                    p.reason.en
                ),
            )
        };
        let new = NewReferral {
            intake_id: id,
            subject_id: intake.subject.as_ref().map(|(s, _)| *s),
            unit_code: unit.clone(),
            priority,
            reason,
            exploitation: exploitation.clone(),
            services: p.services.clone(),
            language: intake.answers.choice("language").map(str::to_string),
            mediator_language: None,
            message: message.to_string(),
            created_by: session.user.id,
        };
        let rid = match referrals::create(&state.db, &new, now).await {
            Ok(r) => r,
            Err(e) => return PageError::from_db(e, lang).into_response(),
        };
        // The first notifications go out at once; the chain goes on until someone answers.
        if let Err(e) = crate::referral::escalation::start(&state.jobs, rid, now).await {
            return PageError::from_db(e, lang).into_response();
        }
        let detail = serde_json::json!({ "intake": id, "unit": unit, "priority": priority.as_str(), "changed": unit != proposed });
        if let Err(r) = audited(
            &state,
            &session,
            "referral.send",
            "referral",
            rid.to_string(),
            detail,
        )
        .await
        {
            return r;
        }
    }
    Redirect::to(&format!("/intakes/{id}/summary")).into_response()
}

/// A referral as a unit's page shows it.
pub struct CaseView {
    /// The referral.
    pub r: Referral,
    /// Exploitation types in words.
    pub exploitation: String,
    /// Services in words.
    pub services: String,
    /// Language in words.
    pub language: String,
    /// Reason in the page's language.
    pub reason: String,
    /// Unit name.
    pub unit: String,
    /// The outcome the unit recorded, in words.
    pub outcome: Option<String>,
}

fn case_view(state: &AppState, lang: Lang, r: Referral) -> CaseView {
    let options = |question: &str, codes: &[String]| {
        let q = state.questionnaire.question(question);
        codes
            .iter()
            .map(|c| {
                q.and_then(|q| q.option(c))
                    .map(|o| lang.pick(&o.it, &o.en).to_string())
                    .unwrap_or_else(|| c.clone())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let services = routing::service_names(&state.directory.current(), lang, &r.services);
    CaseView {
        exploitation: options("exploitation", &r.exploitation),
        language: r
            .language
            .as_deref()
            .map(|l| options("language", &[l.to_string()]))
            .unwrap_or_default(),
        services,
        reason: lang.pick(&r.reason.it, &r.reason.en).to_string(),
        unit: unit_name(state, lang, &r.unit_code),
        outcome: r.outcome.as_deref().map(|o| outcome_label(lang, o)),
        r,
    }
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    chrome: Chrome,
    unit: String,
    cases: Vec<CaseView>,
}

/// The unit of a territorial contact, or a 403 page.
async fn contact_unit(state: &AppState, session: &Session) -> Result<String, Response> {
    session
        .require(&[Role::Contact])
        .map_err(IntoResponse::into_response)?;
    match manage::unit_of(&state.db, session.user.id).await {
        Ok(Some(unit)) => Ok(unit),
        Ok(None) => Err(PageError::forbidden(session.lang).into_response()),
        Err(crate::auth::UserError::Db(e)) => {
            Err(PageError::from_db(e, session.lang).into_response())
        }
        Err(_) => Err(PageError::forbidden(session.lang).into_response()),
    }
}

/// `GET /cases`: a territorial contact's unit's referrals.
pub async fn cases(State(state): State<AppState>, session: Session) -> Response {
    let unit = match contact_unit(&state, &session).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let list = match referrals::for_unit(&state.db, &unit, 200).await {
        Ok(l) => l,
        Err(e) => return PageError::from_db(e, session.lang).into_response(),
    };
    if let Err(r) = audited(
        &state,
        &session,
        "referral.list",
        "unit",
        unit.clone(),
        serde_json::json!({ "count": list.len() }),
    )
    .await
    {
        return r;
    }
    render(&CasesPage {
        chrome: Chrome::of(&session, "cases.title"),
        unit: unit_name(&state, session.lang, &unit),
        cases: list
            .into_iter()
            .map(|r| case_view(&state, session.lang, r))
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    c: CaseView,
    action: String,
    answered: Option<String>,
    /// Where the unit records the outcome (signed-in contacts only).
    outcome_action: Option<String>,
    outcomes: Vec<(&'static str, &'static str)>,
}

/// What a unit can record as the outcome of a referral it accepted.
pub const OUTCOMES: [(&str, &str, &str); 6] = [
    ("contact_made", "Contatto avvenuto", "Contact made"),
    (
        "programme_art18",
        "Presa in carico in programma art. 18",
        "Taken into an art. 18 programme",
    ),
    (
        "programme_art13",
        "Presa in carico in programma art. 13",
        "Taken into an art. 13 programme",
    ),
    (
        "emergency_placement",
        "Inserimento in pronta accoglienza",
        "Emergency placement",
    ),
    (
        "refused_by_person",
        "La persona ha rifiutato l'aiuto",
        "The person refused help",
    ),
    ("not_found", "Persona non rintracciata", "Person not found"),
];

fn outcome_choices(lang: Lang) -> Vec<(&'static str, &'static str)> {
    OUTCOMES
        .iter()
        .map(|(c, it, en)| (*c, lang.pick(it, en)))
        .collect()
}

/// The outcome's label.
pub fn outcome_label(lang: Lang, code: &str) -> String {
    OUTCOMES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, it, en)| lang.pick(it, en).to_string())
        .unwrap_or_else(|| code.to_string())
}

/// `POST /cases/{id}/outcome`: `outcome` (one of [`OUTCOMES`]) for an accepted referral.
pub async fn outcome(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    let unit = match contact_unit(&state, &session).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let r = match referrals::get(&state.db, id).await {
        Ok(Some(r)) if r.unit_code == unit => r,
        Ok(_) => return PageError::not_found(session.lang).into_response(),
        Err(e) => return PageError::from_db(e, session.lang).into_response(),
    };
    let chosen = form.text("outcome");
    if r.state != "acknowledged" && r.state != "closed"
        || !OUTCOMES.iter().any(|(c, _, _)| *c == chosen)
    {
        return PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            session.lang,
            session.lang.pick(
                "Scegli l'esito di una segnalazione accettata.",
                "Choose the outcome of an accepted referral.",
            ),
        )
        .into_response();
    }
    if let Err(e) = referrals::record_outcome(&state.db, id, chosen, Utc::now()).await {
        return PageError::from_db(e, session.lang).into_response();
    }
    if let Err(resp) = audited(
        &state,
        &session,
        "referral.outcome",
        "referral",
        id.to_string(),
        serde_json::json!({ "outcome": chosen }),
    )
    .await
    {
        return resp;
    }
    Redirect::to(&format!("/cases/{id}")).into_response()
}

fn answered_text(lang: Lang, r: &Referral) -> Option<String> {
    r.acknowledged.as_ref().map(|(at, by, channel, note)| {
        let verb = if r.state == "declined" {
            lang.pick("Rifiutata", "Declined")
        } else {
            lang.pick("Accettata", "Accepted")
        };
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(": {note}")
        };
        format!(
            "{verb} · {by} · {channel} · {}{note}",
            at.format("%Y-%m-%d %H:%M UTC")
        )
    })
}

/// `GET /cases/{id}`: one referral of the contact's unit (any other: 404).
pub async fn case(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    let unit = match contact_unit(&state, &session).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let r = match referrals::get(&state.db, id).await {
        Ok(Some(r)) if r.unit_code == unit => r,
        Ok(_) => return PageError::not_found(session.lang).into_response(),
        Err(e) => return PageError::from_db(e, session.lang).into_response(),
    };
    if let Err(resp) = audited(
        &state,
        &session,
        "referral.view",
        "referral",
        id.to_string(),
        serde_json::json!({}),
    )
    .await
    {
        return resp;
    }
    let answered = answered_text(session.lang, &r);
    let outcome_action =
        (r.state == "acknowledged" || r.state == "closed").then(|| format!("/cases/{id}/outcome"));
    render(&CasePage {
        chrome: Chrome::of(&session, "cases.case"),
        c: case_view(&state, session.lang, r),
        action: format!("/cases/{id}/answer"),
        answered,
        outcome_action,
        outcomes: outcome_choices(session.lang),
    })
}

/// `POST /cases/{id}/answer`: `answer` = accept | decline, with `note`.
pub async fn answer(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    let unit = match contact_unit(&state, &session).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match referrals::get(&state.db, id).await {
        Ok(Some(r)) if r.unit_code == unit => {}
        Ok(_) => return PageError::not_found(session.lang).into_response(),
        Err(e) => return PageError::from_db(e, session.lang).into_response(),
    }
    let by = format!("user:{}", session.user.username);
    match record_answer(&state, id, &form, &by, "console", session.lang).await {
        Ok(()) => {}
        Err(r) => return r,
    }
    if let Err(r) = audited(
        &state,
        &session,
        "referral.answer",
        "referral",
        id.to_string(),
        serde_json::json!({ "answer": form.text("answer") }),
    )
    .await
    {
        return r;
    }
    Redirect::to(&format!("/cases/{id}")).into_response()
}

async fn record_answer(
    state: &AppState,
    id: i64,
    form: &super::form::FormData,
    by: &str,
    channel: &str,
    lang: Lang,
) -> Result<(), Response> {
    let accepted = match form.text("answer") {
        "accept" => true,
        "decline" => false,
        _ => return Err(PageError::bad_form(lang).into_response()),
    };
    let note = form.text("note");
    if !accepted && note.is_empty() {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            lang.pick("Scrivi il motivo del rifiuto.", "Write why you decline."),
        )
        .into_response());
    }
    if let Some(found) = find_identifying(note) {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            lang.pick(found.it(), found.en()),
        )
        .into_response());
    }
    match referrals::answer(&state.db, id, accepted, by, channel, note, Utc::now()).await {
        Ok(()) => Ok(()),
        Err(AckError::AlreadyAnswered(who)) => Err(PageError::new(
            StatusCode::CONFLICT,
            lang,
            format!(
                "{} {who}.",
                lang.pick(
                    "La segnalazione ha già avuto risposta da",
                    "The referral was already answered by"
                )
            ),
        )
        .into_response()),
        Err(AckError::NotFound) => Err(PageError::not_found(lang).into_response()),
        Err(AckError::Db(e)) => Err(PageError::from_db(e, lang).into_response()),
    }
}

fn link_error(e: LinkError, lang: Lang) -> Response {
    let (status, it, en) = match e {
        LinkError::Invalid => (StatusCode::FORBIDDEN, "Link non valido.", "Invalid link."),
        LinkError::Expired => (
            StatusCode::GONE,
            "Link scaduto: rispondi dalla console o chiama il numero verde.",
            "Expired link: answer from the console or call the help-line.",
        ),
        LinkError::Used => (
            StatusCode::GONE,
            "Questo link è già stato usato.",
            "This link has already been used.",
        ),
    };
    PageError::new(status, lang, lang.pick(it, en)).into_response()
}

/// Checks a link: signature, expiry, and that it exists and is unused.
async fn checked_link(
    state: &AppState,
    token: &str,
    lang: Lang,
) -> Result<(links::LinkClaims, Referral), Response> {
    let claims = state
        .links
        .verify(token, Utc::now())
        .map_err(|e| link_error(e, lang))?;
    match referrals::link_unused(&state.db, &links::digest(token)).await {
        Ok(Some(true)) => {}
        Ok(Some(false)) => return Err(link_error(LinkError::Used, lang)),
        Ok(None) => return Err(link_error(LinkError::Invalid, lang)),
        Err(e) => return Err(PageError::from_db(e, lang).into_response()),
    }
    match referrals::get(&state.db, claims.referral_id).await {
        Ok(Some(r)) => Ok((claims, r)),
        Ok(None) => Err(link_error(LinkError::Invalid, lang)),
        Err(e) => Err(PageError::from_db(e, lang).into_response()),
    }
}

/// `GET /ack/{token}`: the referral and the accept/decline form, without signing in.
pub async fn ack_page(
    State(state): State<AppState>,
    lang: Lang,
    Path(token): Path<String>,
) -> Response {
    let (claims, r) = match checked_link(&state, &token, lang).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let entry = AuditEntry {
        actor_user_id: None,
        actor: format!("contact:{}", claims.contact),
        action: "referral.view",
        object_kind: "referral",
        object_id: r.id.to_string(),
        address: None,
        detail: serde_json::json!({ "via": "link" }),
    };
    if let Err(e) = audit::append(&state.db, Utc::now(), &entry).await {
        return PageError::from_db(e, lang).into_response();
    }
    let answered = answered_text(lang, &r);
    render(&CasePage {
        chrome: Chrome::anonymous(lang, "cases.case"),
        c: case_view(&state, lang, r),
        action: format!("/ack/{token}"),
        answered,
        outcome_action: None,
        outcomes: Vec::new(),
    })
}

/// `POST /ack/{token}`: records the answer and spends the link.
pub async fn ack_submit(
    State(state): State<AppState>,
    lang: Lang,
    Path(token): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let form = match read_form(req, &state, lang).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (claims, r) = match checked_link(&state, &token, lang).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    // The link itself is the credential (there is no session): spend it first, so a
    // replayed post cannot answer twice.
    match referrals::use_link(&state.db, &links::digest(&token), Utc::now()).await {
        Ok(true) => {}
        Ok(false) => return link_error(LinkError::Used, lang),
        Err(e) => return PageError::from_db(e, lang).into_response(),
    }
    if let Err(resp) = record_answer(&state, r.id, &form, &claims.contact, "link", lang).await {
        return resp;
    }
    let entry = AuditEntry {
        actor_user_id: None,
        actor: format!("contact:{}", claims.contact),
        action: "referral.answer",
        object_kind: "referral",
        object_id: r.id.to_string(),
        address: None,
        detail: serde_json::json!({ "via": "link", "answer": form.text("answer") }),
    };
    if let Err(e) = audit::append(&state.db, Utc::now(), &entry).await {
        return PageError::from_db(e, lang).into_response();
    }
    let (it, en) = (
        "Grazie: la risposta è stata registrata e il numero verde ne è informato.",
        "Thank you: the answer is recorded and the help-line knows.",
    );
    super::page::notice(lang, lang.pick(it, en))
}

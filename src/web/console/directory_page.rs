//! Admins manage the directory: the regional coordinator, the units with their on-call
//! contacts and free beds, the mediators. Every save is a new version of the directory,
//! audited, in use at once on this node and within seconds on the others; units and
//! mediator languages that gain people get their default rota.
//!
//! This file: the overview, the shared save path and its errors. The forms are in
//! `directory_forms.rs`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::Role;
use crate::db::audit::AuditEntry;
use crate::referral::directory::{DirectoryVersion, Edit, EditError, Outcome, StoreError};
use crate::referral::rota;
use crate::web::i18n::Lang;

/// How many versions the overview lists.
const HISTORY: i64 = 20;

/// One unit in the overview.
pub struct UnitRow {
    code: String,
    name: String,
    kind: String,
    languages: String,
    beds: String,
    contacts: usize,
    active: bool,
}

/// One mediator in the overview.
pub struct MediatorRow {
    code: String,
    name: String,
    languages: String,
}

#[derive(Template)]
#[template(path = "directory.html")]
struct OverviewPage {
    chrome: Chrome,
    version: i64,
    saved: Option<i64>,
    coordinator: String,
    territories: Vec<(String, Vec<UnitRow>)>,
    mediators: Vec<MediatorRow>,
    history: Vec<DirectoryVersion>,
}

impl OverviewPage {
    fn when(&self, at: &DateTime<Utc>) -> String {
        super::page::rome_time(at, "%d/%m/%Y %H:%M")
    }
}

/// `?saved=N` after a save: the version saved, shown as a confirmation.
#[derive(Debug, Deserialize)]
pub struct Saved {
    /// The version saved.
    pub saved: Option<i64>,
}

/// The kind of unit in words.
pub fn kind_label(dir: &crate::referral::Directory, lang: Lang, code: &str) -> String {
    dir.unit_kinds
        .iter()
        .find(|k| k.code == code)
        .map(|k| lang.pick(&k.it, &k.en).to_string())
        .unwrap_or_else(|| code.to_string())
}

/// `GET /admin/directory`
pub async fn overview(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<Saved>,
) -> Response {
    if let Err(e) = session.require(&[Role::Admin]) {
        return e.into_response();
    }
    let lang = session.lang;
    let history = match crate::referral::directory::history(&state.db, HISTORY).await {
        Ok(h) => h,
        Err(e) => return PageError::from_db(e, lang).into_response(),
    };
    let dir = state.directory.current();
    let territories = dir
        .territories
        .iter()
        .map(|t| {
            let units = dir
                .units
                .iter()
                .filter(|u| u.territory == t.code)
                .map(|u| UnitRow {
                    code: u.code.clone(),
                    name: u.name.clone(),
                    kind: kind_label(&dir, lang, &u.kind),
                    languages: u.languages.join(", "),
                    beds: u.beds.map(|b| b.to_string()).unwrap_or_default(),
                    contacts: dir.contacts.iter().filter(|c| c.unit == u.code).count(),
                    active: u.active,
                })
                .collect();
            (t.name.clone(), units)
        })
        .collect();
    let mediators = dir
        .mediators
        .iter()
        .map(|m| MediatorRow {
            code: m.code.clone(),
            name: m.name.clone(),
            languages: m.languages.join(", "),
        })
        .collect();
    render(&OverviewPage {
        chrome: Chrome::of(&session, "dir.title"),
        version: state.directory.version(),
        saved: q.saved,
        coordinator: dir.coordinator.name.clone(),
        territories,
        mediators,
        history,
    })
}

/// Saves an edit as the next version, audited as this session's user, and gives the
/// units and languages that gained people their default rota.
pub async fn save(state: &AppState, session: &Session, edit: &Edit) -> Result<Outcome, EditError> {
    let actor = AuditEntry {
        actor_user_id: Some(session.user.id),
        actor: session.actor(),
        action: "directory.change",
        object_kind: "directory",
        object_id: String::new(),
        address: Some(session.address.clone()),
        detail: serde_json::Value::Null,
    };
    let now = Utc::now();
    let outcome = state.directory.apply(&state.db, edit, actor, now).await?;
    tracing::info!(
        user = %session.user.username,
        change = %outcome.summary,
        version = state.directory.version(),
        "directory changed"
    );
    // The change is saved; a rota that could not be seeded now is seeded at the next
    // change or start, and the rota page shows the gap meanwhile.
    if let Err(e) = rota::seed_from_directory(&state.db, &outcome.directory, now).await {
        tracing::warn!(error = %e, "default rotas for the changed directory not created");
    }
    Ok(outcome)
}

/// What a refused save tells the admin, with the status of the page shown again; a
/// storage failure is the console's error page instead.
pub fn refusal(e: EditError, lang: Lang) -> Result<(StatusCode, String), PageError> {
    let pick = |it: &str, en: &str| lang.pick(it, en).to_string();
    Ok(match e {
        EditError::Field { message, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.pick(&message.it, &message.en).to_string(),
        ),
        EditError::Exists(code) => (
            StatusCode::CONFLICT,
            format!(
                "{} `{code}`.",
                pick("Codice già in uso:", "Code already in use:")
            ),
        ),
        EditError::NotFound(_) => return Err(PageError::not_found(lang)),
        EditError::Changed | EditError::Store(StoreError::Conflict) => (
            StatusCode::CONFLICT,
            pick(
                "Un altro amministratore ha modificato questa voce dopo l'apertura del modulo. \
                 I dati salvati ora sono indicati sotto; i tuoi sono nel modulo: salva di nuovo per sostituirli.",
                "Another admin changed this entry after the form was opened. \
                 The values saved now are shown below; yours are in the form: save again to replace them.",
            ),
        ),
        EditError::Invalid(why) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{} {why}", pick("Elenco non valido:", "Invalid directory:")),
        ),
        EditError::Store(StoreError::Db(e)) => {
            return Err(PageError::from_db(e, lang))
        }
        EditError::Store(e @ StoreError::Unreadable { .. }) => {
            tracing::error!(error = %e, "directory save failed");
            return Err(PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                e.to_string(),
            ));
        }
    })
}

//! The directory's forms: a unit (with the list of its contacts), a contact, a
//! mediator, the coordinator. A refused save shows the form again with what was typed
//! and why; after a save the page says which version it became.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::directory_page::{refusal, save, Saved};
use super::form::{FormData, Posted};
use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::Role;
use crate::referral::directory::{
    fingerprint, Contact, ContactRole, Directory, Edit, EditError, Mediator, Person, Unit,
};
use crate::triage::Text;

/// A unit's form as shown or as typed.
#[derive(Debug, Clone, Default)]
pub struct UnitFields {
    code: String,
    name: String,
    kind: String,
    territory: String,
    services: Vec<String>,
    languages: String,
    beds: String,
    active: bool,
    seen: String,
}

impl UnitFields {
    fn of(u: &Unit) -> Self {
        Self {
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind.clone(),
            territory: u.territory.clone(),
            services: u.services.clone(),
            languages: u.languages.join(", "),
            beds: u.beds.map(|b| b.to_string()).unwrap_or_default(),
            active: u.active,
            seen: fingerprint(u),
        }
    }

    fn read(form: &FormData, code: Option<&str>) -> Self {
        Self {
            code: code.unwrap_or(form.text("code")).to_string(),
            name: form.text("name").to_string(),
            kind: form.text("kind").to_string(),
            territory: form.text("territory").to_string(),
            services: form
                .0
                .iter()
                .filter(|(k, _)| k == "services")
                .map(|(_, v)| v.clone())
                .collect(),
            languages: form.text("languages").to_string(),
            beds: form.text("beds").to_string(),
            active: form.get("active").is_some(),
            seen: form.text("seen").to_string(),
        }
    }

    fn unit(&self) -> Result<Unit, EditError> {
        let beds = match self.beds.as_str() {
            "" => None,
            n => Some(n.parse::<u32>().map_err(|_| EditError::Field {
                field: "beds",
                message: Text::new(
                    "Posti liberi: un numero intero da 0 in su, o vuoto se non si applica.",
                    "Free beds: a whole number from 0, or empty when it does not apply.",
                ),
            })?),
        };
        Ok(Unit {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            territory: self.territory.clone(),
            services: self.services.clone(),
            languages: language_list(&self.languages),
            beds,
            active: self.active,
        })
    }
}

/// "it, en ro" → ["it", "en", "ro"].
fn language_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in text.split([',', ' ', ';']).filter(|l| !l.is_empty()) {
        let l = l.to_lowercase();
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// A contact of the unit page.
pub struct ContactRow {
    code: String,
    name: String,
    backup: bool,
}

#[derive(Template)]
#[template(path = "directory_unit.html")]
struct UnitPage {
    chrome: Chrome,
    message: Option<String>,
    saved: Option<i64>,
    new: bool,
    form: UnitFields,
    current: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    territories: Vec<(String, String)>,
    services: Vec<(String, String)>,
    contacts: Vec<ContactRow>,
}

impl UnitPage {
    fn offers(&self, service: &str) -> bool {
        self.form.services.iter().any(|s| s == service)
    }
}

fn admin(session: &Session) -> Result<(), PageError> {
    session.require(&[Role::Admin])
}

/// The saved values of an entry, field by field, to show beside a form refused because
/// somebody changed the entry meanwhile.
fn values_of<T: Serialize>(entry: &T) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(entry) else {
        return Vec::new();
    };
    map.into_iter()
        .filter(|(k, _)| k != "code")
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
                    .collect::<Vec<_>>()
                    .join(", "),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect()
}

fn unit_page(
    dir: &Directory,
    session: &Session,
    new: bool,
    form: UnitFields,
    message: Option<String>,
    saved: Option<i64>,
) -> UnitPage {
    let lang = session.lang;
    let contacts = dir
        .contacts
        .iter()
        .filter(|c| !new && c.unit == form.code)
        .map(|c| ContactRow {
            code: c.code.clone(),
            name: c.name.clone(),
            backup: c.role == ContactRole::Backup,
        })
        .collect();
    let labelled = |list: &[crate::referral::directory::Labelled]| {
        list.iter()
            .map(|l| (l.code.clone(), lang.pick(&l.it, &l.en).to_string()))
            .collect()
    };
    UnitPage {
        chrome: Chrome::of(session, if new { "dir.unit_new" } else { "dir.unit" }),
        message,
        saved,
        new,
        form,
        current: Vec::new(),
        kinds: labelled(&dir.unit_kinds),
        territories: dir
            .territories
            .iter()
            .map(|t| (t.code.clone(), t.name.clone()))
            .collect(),
        services: labelled(&dir.services),
        contacts,
    }
}

/// `GET /admin/directory/units/new`
pub async fn unit_new(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = admin(&session) {
        return e.into_response();
    }
    let form = UnitFields {
        active: true,
        ..UnitFields::default()
    };
    let page = unit_page(&state.directory.current(), &session, true, form, None, None);
    render(&page)
}

/// `GET /admin/directory/units/{code}`
pub async fn unit_show(
    State(state): State<AppState>,
    Path(code): Path<String>,
    session: Session,
    Query(q): Query<Saved>,
) -> Response {
    if let Err(e) = admin(&session) {
        return e.into_response();
    }
    let dir = state.directory.current();
    let Some(unit) = dir.unit(&code) else {
        return PageError::not_found(session.lang).into_response();
    };
    render(&unit_page(
        &dir,
        &session,
        false,
        UnitFields::of(unit),
        None,
        q.saved,
    ))
}

/// `POST /admin/directory/units`: adds a unit.
pub async fn unit_create(State(state): State<AppState>, posted: Posted) -> Response {
    unit_save(state, posted, None).await
}

/// `POST /admin/directory/units/{code}`: changes a unit.
pub async fn unit_update(
    State(state): State<AppState>,
    Path(code): Path<String>,
    posted: Posted,
) -> Response {
    unit_save(state, posted, Some(code)).await
}

async fn unit_save(state: AppState, posted: Posted, code: Option<String>) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = admin(&session) {
        return e.into_response();
    }
    let new = code.is_none();
    let mut fields = UnitFields::read(&form, code.as_deref());
    if new {
        fields.seen.clear();
    }
    let result = match fields.unit() {
        Ok(unit) => {
            let edit = Edit::Unit {
                unit,
                seen: fields.seen.clone(),
            };
            save(&state, &session, &edit).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to(&format!(
            "/admin/directory/units/{}?saved={}",
            fields.code,
            state.directory.version()
        ))
        .into_response(),
        Err(e) => {
            let changed = matches!(e, EditError::Changed);
            let (status, message) = match refusal(e, session.lang) {
                Ok(r) => r,
                Err(page) => return page.into_response(),
            };
            let dir = state.directory.current();
            let saved_unit = dir.unit(&fields.code).filter(|_| changed).cloned();
            if let Some(u) = &saved_unit {
                // Saving again replaces the newer values knowingly.
                fields.seen = fingerprint(u);
            }
            let mut page = unit_page(&dir, &session, new, fields, Some(message), None);
            page.current = saved_unit.as_ref().map(values_of).unwrap_or_default();
            (status, render(&page)).into_response()
        }
    }
}

/// Which person a [`PersonPage`] edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonKind {
    /// The regional coordinator.
    Coordinator,
    /// A unit's on-call contact.
    Contact,
    /// A mediator.
    Mediator,
}

/// A person's form as shown or as typed.
#[derive(Debug, Clone, Default)]
pub struct PersonFields {
    code: String,
    name: String,
    email: String,
    mobile: String,
    unit: String,
    backup: bool,
    languages: String,
    seen: String,
}

impl PersonFields {
    fn read(form: &FormData, code: Option<&str>) -> Self {
        Self {
            code: code.unwrap_or(form.text("code")).to_string(),
            name: form.text("name").to_string(),
            email: form.text("email").to_string(),
            mobile: form.text("mobile").to_string(),
            unit: form.text("unit").to_string(),
            backup: form.text("role") == "backup",
            languages: form.text("languages").to_string(),
            seen: form.text("seen").to_string(),
        }
    }

    fn contact(c: &Contact) -> Self {
        Self {
            code: c.code.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            mobile: c.mobile.clone(),
            unit: c.unit.clone(),
            backup: c.role == ContactRole::Backup,
            languages: String::new(),
            seen: fingerprint(c),
        }
    }

    fn mediator(m: &Mediator) -> Self {
        Self {
            code: m.code.clone(),
            name: m.name.clone(),
            email: m.email.clone(),
            mobile: m.mobile.clone(),
            languages: m.languages.join(", "),
            seen: fingerprint(m),
            ..Self::default()
        }
    }

    fn coordinator(p: &Person) -> Self {
        Self {
            name: p.name.clone(),
            email: p.email.clone(),
            mobile: p.mobile.clone(),
            seen: fingerprint(p),
            ..Self::default()
        }
    }

    fn edit(&self, kind: PersonKind) -> Edit {
        let seen = self.seen.clone();
        match kind {
            PersonKind::Coordinator => Edit::Coordinator {
                person: Person {
                    name: self.name.clone(),
                    email: self.email.clone(),
                    mobile: self.mobile.clone(),
                },
                seen,
            },
            PersonKind::Contact => Edit::Contact {
                contact: Contact {
                    code: self.code.clone(),
                    name: self.name.clone(),
                    unit: self.unit.clone(),
                    role: if self.backup {
                        ContactRole::Backup
                    } else {
                        ContactRole::Primary
                    },
                    email: self.email.clone(),
                    mobile: self.mobile.clone(),
                },
                seen,
            },
            PersonKind::Mediator => Edit::Mediator {
                mediator: Mediator {
                    code: self.code.clone(),
                    name: self.name.clone(),
                    languages: language_list(&self.languages),
                    email: self.email.clone(),
                    mobile: self.mobile.clone(),
                },
                seen,
            },
        }
    }
}

#[derive(Template)]
#[template(path = "directory_person.html")]
struct PersonPage {
    chrome: Chrome,
    message: Option<String>,
    saved: Option<i64>,
    kind: PersonKind,
    new: bool,
    form: PersonFields,
    current: Vec<(String, String)>,
    units: Vec<(String, String)>,
    action: String,
    back: String,
}

impl PersonPage {
    fn is_contact(&self) -> bool {
        self.kind == PersonKind::Contact
    }

    fn is_mediator(&self) -> bool {
        self.kind == PersonKind::Mediator
    }

    fn removable(&self) -> bool {
        !self.new && self.kind != PersonKind::Coordinator
    }
}

fn person_page(
    dir: &Directory,
    session: &Session,
    kind: PersonKind,
    new: bool,
    form: PersonFields,
) -> PersonPage {
    let (title, action, back) = match kind {
        PersonKind::Coordinator => (
            "dir.coordinator",
            "/admin/directory/coordinator".to_string(),
            "/admin/directory".to_string(),
        ),
        PersonKind::Contact => (
            if new {
                "dir.contact_new"
            } else {
                "dir.contact"
            },
            if new {
                "/admin/directory/contacts".to_string()
            } else {
                format!("/admin/directory/contacts/{}", form.code)
            },
            format!("/admin/directory/units/{}", form.unit),
        ),
        PersonKind::Mediator => (
            if new {
                "dir.mediator_new"
            } else {
                "dir.mediator"
            },
            if new {
                "/admin/directory/mediators".to_string()
            } else {
                format!("/admin/directory/mediators/{}", form.code)
            },
            "/admin/directory".to_string(),
        ),
    };
    PersonPage {
        chrome: Chrome::of(session, title),
        message: None,
        saved: None,
        kind,
        new,
        form,
        current: Vec::new(),
        units: dir
            .units
            .iter()
            .map(|u| (u.code.clone(), u.name.clone()))
            .collect(),
        action,
        back,
    }
}

/// `?unit=CODE` for a new contact.
#[derive(Debug, Deserialize)]
pub struct ForUnit {
    unit: Option<String>,
}

/// `GET /admin/directory/contacts/new?unit=CODE`
pub async fn contact_new(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ForUnit>,
) -> Response {
    if let Err(e) = admin(&session) {
        return e.into_response();
    }
    let form = PersonFields {
        unit: q.unit.unwrap_or_default(),
        ..PersonFields::default()
    };
    let dir = state.directory.current();
    render(&person_page(
        &dir,
        &session,
        PersonKind::Contact,
        true,
        form,
    ))
}

/// `GET /admin/directory/mediators/new`
pub async fn mediator_new(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = admin(&session) {
        return e.into_response();
    }
    let dir = state.directory.current();
    let form = PersonFields::default();
    render(&person_page(
        &dir,
        &session,
        PersonKind::Mediator,
        true,
        form,
    ))
}

/// The saved fields of a person, if they exist.
fn saved_person(dir: &Directory, kind: PersonKind, code: &str) -> Option<PersonFields> {
    match kind {
        PersonKind::Coordinator => Some(PersonFields::coordinator(&dir.coordinator)),
        PersonKind::Contact => dir
            .contacts
            .iter()
            .find(|c| c.code == code)
            .map(PersonFields::contact),
        PersonKind::Mediator => dir
            .mediators
            .iter()
            .find(|m| m.code == code)
            .map(PersonFields::mediator),
    }
}

async fn person_show(
    state: AppState,
    session: Session,
    kind: PersonKind,
    code: String,
    saved: Option<i64>,
) -> Response {
    if let Err(e) = admin(&session) {
        return e.into_response();
    }
    let dir = state.directory.current();
    let Some(form) = saved_person(&dir, kind, &code) else {
        return PageError::not_found(session.lang).into_response();
    };
    let mut page = person_page(&dir, &session, kind, false, form);
    page.saved = saved;
    render(&page)
}

/// `GET /admin/directory/contacts/{code}`
pub async fn contact_show(
    State(state): State<AppState>,
    Path(code): Path<String>,
    session: Session,
    Query(q): Query<Saved>,
) -> Response {
    person_show(state, session, PersonKind::Contact, code, q.saved).await
}

/// `GET /admin/directory/mediators/{code}`
pub async fn mediator_show(
    State(state): State<AppState>,
    Path(code): Path<String>,
    session: Session,
    Query(q): Query<Saved>,
) -> Response {
    person_show(state, session, PersonKind::Mediator, code, q.saved).await
}

/// `GET /admin/directory/coordinator`
pub async fn coordinator_show(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<Saved>,
) -> Response {
    person_show(
        state,
        session,
        PersonKind::Coordinator,
        String::new(),
        q.saved,
    )
    .await
}

async fn person_save(
    state: AppState,
    posted: Posted,
    kind: PersonKind,
    code: Option<String>,
) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = admin(&session) {
        return e.into_response();
    }
    let new = code.is_none() && kind != PersonKind::Coordinator;
    let mut fields = PersonFields::read(&form, code.as_deref());
    if new {
        fields.seen.clear();
    }
    match save(&state, &session, &fields.edit(kind)).await {
        Ok(_) => {
            let version = state.directory.version();
            let to = match kind {
                PersonKind::Contact => {
                    format!("/admin/directory/units/{}?saved={version}", fields.unit)
                }
                _ => format!("/admin/directory?saved={version}"),
            };
            Redirect::to(&to).into_response()
        }
        Err(e) => refused(&state, &session, kind, new, fields, e),
    }
}

fn refused(
    state: &AppState,
    session: &Session,
    kind: PersonKind,
    new: bool,
    mut fields: PersonFields,
    e: EditError,
) -> Response {
    let changed = matches!(e, EditError::Changed);
    let (status, message) = match refusal(e, session.lang) {
        Ok(r) => r,
        Err(page) => return page.into_response(),
    };
    let dir = state.directory.current();
    let saved = saved_person(&dir, kind, &fields.code).filter(|_| changed);
    let current = match (&saved, kind) {
        (None, _) => Vec::new(),
        (Some(_), PersonKind::Coordinator) => values_of(&dir.coordinator),
        (Some(_), PersonKind::Contact) => dir
            .contacts
            .iter()
            .find(|c| c.code == fields.code)
            .map(values_of)
            .unwrap_or_default(),
        (Some(_), PersonKind::Mediator) => dir
            .mediators
            .iter()
            .find(|m| m.code == fields.code)
            .map(values_of)
            .unwrap_or_default(),
    };
    if let Some(s) = saved {
        fields.seen = s.seen;
    }
    let mut page = person_page(&dir, session, kind, new, fields);
    page.message = Some(message);
    page.current = current;
    (status, render(&page)).into_response()
}

/// `POST /admin/directory/contacts`
pub async fn contact_create(State(state): State<AppState>, posted: Posted) -> Response {
    person_save(state, posted, PersonKind::Contact, None).await
}

/// `POST /admin/directory/contacts/{code}`
pub async fn contact_update(
    State(state): State<AppState>,
    Path(code): Path<String>,
    posted: Posted,
) -> Response {
    person_save(state, posted, PersonKind::Contact, Some(code)).await
}

/// `POST /admin/directory/mediators`
pub async fn mediator_create(State(state): State<AppState>, posted: Posted) -> Response {
    person_save(state, posted, PersonKind::Mediator, None).await
}

/// `POST /admin/directory/mediators/{code}`
pub async fn mediator_update(
    State(state): State<AppState>,
    Path(code): Path<String>,
    posted: Posted,
) -> Response {
    person_save(state, posted, PersonKind::Mediator, Some(code)).await
}

/// `POST /admin/directory/coordinator`
pub async fn coordinator_update(State(state): State<AppState>, posted: Posted) -> Response {
    person_save(state, posted, PersonKind::Coordinator, None).await
}

async fn person_remove(
    state: AppState,
    posted: Posted,
    kind: PersonKind,
    code: String,
) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = admin(&session) {
        return e.into_response();
    }
    let seen = form.text("seen").to_string();
    let unit = state
        .directory
        .current()
        .contacts
        .iter()
        .find(|c| c.code == code)
        .map(|c| c.unit.clone());
    let edit = match kind {
        PersonKind::Mediator => Edit::RemoveMediator {
            code: code.clone(),
            seen,
        },
        _ => Edit::RemoveContact {
            code: code.clone(),
            seen,
        },
    };
    match save(&state, &session, &edit).await {
        Ok(_) => {
            let version = state.directory.version();
            let to = match unit {
                Some(unit) => format!("/admin/directory/units/{unit}?saved={version}"),
                None => format!("/admin/directory?saved={version}"),
            };
            Redirect::to(&to).into_response()
        }
        Err(e) => {
            let dir = state.directory.current();
            let Some(fields) = saved_person(&dir, kind, &code) else {
                return PageError::not_found(session.lang).into_response();
            };
            refused(&state, &session, kind, false, fields, e)
        }
    }
}

/// `POST /admin/directory/contacts/{code}/remove`
pub async fn contact_remove(
    State(state): State<AppState>,
    Path(code): Path<String>,
    posted: Posted,
) -> Response {
    person_remove(state, posted, PersonKind::Contact, code).await
}

/// `POST /admin/directory/mediators/{code}/remove`
pub async fn mediator_remove(
    State(state): State<AppState>,
    Path(code): Path<String>,
    posted: Posted,
) -> Response {
    person_remove(state, posted, PersonKind::Mediator, code).await
}

#[cfg(test)]
mod tests {
    use super::language_list;

    #[test]
    fn languages_are_read_from_commas_or_spaces_once_each() {
        assert_eq!(language_list("it, EN ro,,it"), vec!["it", "en", "ro"]);
        assert!(language_list("  ").is_empty());
    }
}

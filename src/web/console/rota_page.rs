//! Admins edit the on-call rotas: every rota of the directory (units by territory, the
//! regional coordinator, the mediators by language) and the help-line's night
//! operators, with warnings at the top for the hours nobody covers in the next 7 days
//! and for entries naming someone who no longer fits; per rota, its weekly shifts and
//! overrides on the Europe/Rome clock, added and removed through forms. Every change is
//! audited with directory codes and user ids only.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, Utc, Weekday};

use super::form::{FormData, Posted};
use super::intake::audited;
use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::{manage, Role, UserError};
use crate::referral::directory::Directory;
use crate::referral::rota::{
    self, check_entry, directory_targets, Override, OverrideMode, Person, Rota, RotaError,
    RotaRole, Target, WeeklyShift,
};
use crate::triage::languages;
use crate::web::i18n::Lang;

/// How far ahead the warnings look, as the issue asks.
const WARNING_DAYS: i64 = 7;

/// How far ahead a rota page lists overrides: far enough that none planned is hidden
/// (and so not removable), bounded so the query stays an ordinary range.
const HORIZON_DAYS: i64 = 3653;

/// Only admins edit rotas.
const ROTA_ROLES: [Role; 1] = [Role::Admin];

/// `dd/mm HH:MM` on the Rome clock, for the warnings (all within a week).
const SHORT: &str = "%d/%m %H:%M";

/// `dd/mm/yyyy HH:MM` on the Rome clock, for overrides (possibly months ahead).
const LONG: &str = "%d/%m/%Y %H:%M";

fn local(at: DateTime<Utc>, format: &str) -> String {
    super::page::rome_time(&at, format)
}

/// A target as a path segment. Codes are plain ASCII, but a directory may one day hold
/// something else, and the link must still lead back to the same rota.
fn href(target: &Target) -> String {
    let mut out = String::new();
    for b in target.to_string().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn page_of(target: &Target) -> String {
    format!("/admin/rotas/{}", href(target))
}

fn weekday_label(lang: Lang, day: Weekday) -> &'static str {
    let (it, en) = match day {
        Weekday::Mon => ("Lunedì", "Monday"),
        Weekday::Tue => ("Martedì", "Tuesday"),
        Weekday::Wed => ("Mercoledì", "Wednesday"),
        Weekday::Thu => ("Giovedì", "Thursday"),
        Weekday::Fri => ("Venerdì", "Friday"),
        Weekday::Sat => ("Sabato", "Saturday"),
        Weekday::Sun => ("Domenica", "Sunday"),
    };
    lang.pick(it, en)
}

fn role_label(lang: Lang, role: RotaRole) -> &'static str {
    match role {
        RotaRole::Primary => lang.pick("Primario", "Primary"),
        RotaRole::Backup => lang.pick("Riserva", "Backup"),
    }
}

fn mode_label(lang: Lang, mode: OverrideMode) -> &'static str {
    match mode {
        OverrideMode::Replace => lang.pick(
            "Sostituisce i turni dello stesso ruolo",
            "Stands in for the shifts of the same role",
        ),
        OverrideMode::Add => lang.pick("Si aggiunge ai turni", "Joins the shifts"),
    }
}

fn user_error(e: UserError, lang: Lang) -> Response {
    match e {
        UserError::Db(e) => PageError::from_db(e, lang).into_response(),
        other => {
            tracing::error!(error = %other, "listing users for the rotas failed");
            PageError::new(StatusCode::INTERNAL_SERVER_ERROR, lang, other.to_string())
                .into_response()
        }
    }
}

/// What the pages need to name targets and people, and to tell stale entries.
struct Names {
    dir: std::sync::Arc<Directory>,
    /// Every user by id: name, and whether they may be on the night rota.
    users: HashMap<i64, (String, bool)>,
    lang: Lang,
}

impl Names {
    async fn load(state: &AppState, lang: Lang) -> Result<Self, Response> {
        let users = manage::list(&state.db)
            .await
            .map_err(|e| user_error(e, lang))?
            .into_iter()
            .map(|u| {
                let night = u.active && matches!(u.role, Role::Operator | Role::Supervisor);
                (u.id, (u.username, night))
            })
            .collect();
        Ok(Self {
            dir: state.directory.current(),
            users,
            lang,
        })
    }

    fn target(&self, target: &Target) -> String {
        let lang = self.lang;
        match target {
            Target::Unit(code) => self
                .dir
                .units
                .iter()
                .find(|u| &u.code == code)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| code.clone()),
            Target::Coordinator => lang.t("rota.coordinator").to_string(),
            Target::NightOperators => lang.t("rota.night_operators").to_string(),
            Target::Mediators(code) => {
                let language = languages::language(code)
                    .map(|l| lang.pick(l.it, l.en).to_string())
                    .unwrap_or_else(|| code.clone());
                format!("{} — {language}", lang.t("rota.mediators_of"))
            }
        }
    }

    fn person(&self, person: &Person) -> String {
        let named = |name: Option<&String>, code: &String| match name {
            Some(name) => format!("{name} ({code})"),
            None => code.clone(),
        };
        match person {
            Person::Contact(code) => named(
                self.dir
                    .contacts
                    .iter()
                    .find(|c| &c.code == code)
                    .map(|c| &c.name),
                code,
            ),
            Person::Mediator(code) => named(
                self.dir
                    .mediators
                    .iter()
                    .find(|m| &m.code == code)
                    .map(|m| &m.name),
                code,
            ),
            Person::Coordinator => self.dir.coordinator.name.clone(),
            Person::User(id) => self
                .users
                .get(id)
                .map(|(name, _)| name.clone())
                .unwrap_or_else(|| format!("#{id}")),
        }
    }

    /// Whether an entry still fits its rota (the same rule as the coverage report).
    fn fits(&self, target: &Target, person: &Person) -> bool {
        match person {
            Person::User(id) => self.users.get(id).is_some_and(|(_, night)| *night),
            _ => check_entry(&self.dir, target, person).is_ok(),
        }
    }

    /// Who may be put on `target`'s rota: (form value, label).
    fn choices(&self, target: &Target) -> Vec<(String, String)> {
        let option = |p: Person| (p.to_string(), self.person(&p));
        match target {
            Target::Unit(unit) => self
                .dir
                .contacts
                .iter()
                .filter(|c| &c.unit == unit)
                .map(|c| option(Person::Contact(c.code.clone())))
                .collect(),
            Target::Mediators(language) => self
                .dir
                .mediators
                .iter()
                .filter(|m| m.languages.contains(language))
                .map(|m| option(Person::Mediator(m.code.clone())))
                .collect(),
            Target::Coordinator => vec![option(Person::Coordinator)],
            Target::NightOperators => {
                let mut users: Vec<(&i64, &(String, bool))> =
                    self.users.iter().filter(|(_, (_, night))| *night).collect();
                users.sort_by(|a, b| a.1 .0.cmp(&b.1 .0));
                users
                    .into_iter()
                    .map(|(id, _)| option(Person::User(*id)))
                    .collect()
            }
        }
    }
}

/// Whether a target belongs to the directory or is the night operators' rota.
fn known(dir: &Directory, target: &Target) -> bool {
    *target == Target::NightOperators || directory_targets(dir).contains(target)
}

// ----- The list of rotas -----

/// A coverage gap as the warnings show it.
struct GapRow {
    key: String,
    href: String,
    name: String,
    from: String,
    to: String,
}

/// An entry naming someone who no longer fits.
struct StaleRow {
    key: String,
    href: String,
    name: String,
    person: String,
}

/// A rota in the list.
struct TargetRow {
    key: String,
    href: String,
    name: String,
    on_call: Vec<String>,
    gaps: usize,
    stale: usize,
}

/// A group of rotas under a heading (a territory's units, the mediators, ...).
struct Section {
    heading: String,
    rows: Vec<TargetRow>,
}

#[derive(Template)]
#[template(path = "rota.html")]
struct ListPage {
    chrome: Chrome,
    gaps: Vec<GapRow>,
    stale: Vec<StaleRow>,
    sections: Vec<Section>,
}

/// `GET /admin/rotas`: every rota, who is on call now, and the warnings.
pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = session.require(&ROTA_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let names = match Names::load(&state, lang).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let dir = state.directory.current();
    let dir = &*dir;
    let now = state.clock.now();
    let report = match rota::coverage(&state.db, dir, now, now + Duration::days(WARNING_DAYS)).await
    {
        Ok(r) => r,
        Err(e) => return PageError::from_db(e, lang).into_response(),
    };
    let mut groups: Vec<(String, Vec<Target>)> = dir
        .territories
        .iter()
        .map(|t| {
            let units = dir
                .active_units()
                .filter(|u| u.territory == t.code)
                .map(|u| Target::Unit(u.code.clone()))
                .collect();
            (format!("{} — {}", lang.t("rota.units"), t.name), units)
        })
        .filter(|(_, units): &(String, Vec<Target>)| !units.is_empty())
        .collect();
    groups.push((
        lang.t("rota.coordinator").to_string(),
        vec![Target::Coordinator],
    ));
    groups.push((
        lang.t("rota.night_operators").to_string(),
        vec![Target::NightOperators],
    ));
    let languages: Vec<Target> = directory_targets(dir)
        .into_iter()
        .filter(|t| matches!(t, Target::Mediators(_)))
        .collect();
    if !languages.is_empty() {
        groups.push((lang.t("rota.mediators").to_string(), languages));
    }
    // Rotas with entries but gone from the directory, so that they can still be emptied.
    let mut others: Vec<Target> = Vec::new();
    let listed: Vec<&Target> = groups.iter().flat_map(|(_, ts)| ts).collect();
    for t in report
        .gaps
        .iter()
        .map(|g| &g.target)
        .chain(report.stale.iter().map(|(t, _)| t))
    {
        if !listed.contains(&t) && !others.contains(t) {
            others.push(t.clone());
        }
    }
    if !others.is_empty() {
        groups.push((lang.t("rota.other").to_string(), others));
    }
    let targets: Vec<&Target> = groups.iter().flat_map(|(_, ts)| ts).collect();
    let on_call = match futures::future::try_join_all(
        targets.iter().map(|t| rota::on_call(&state.db, t, now)),
    )
    .await
    {
        Ok(o) => o,
        Err(e) => return PageError::from_db(e, lang).into_response(),
    };
    let mut on_call: HashMap<&Target, Vec<String>> = targets
        .iter()
        .copied()
        .zip(on_call)
        .map(|(t, people)| {
            let people = people
                .iter()
                .map(|c| format!("{} ({})", names.person(&c.person), role_label(lang, c.role)))
                .collect();
            (t, people)
        })
        .collect();
    let sections = groups
        .iter()
        .map(|(heading, ts)| Section {
            heading: heading.clone(),
            rows: ts
                .iter()
                .map(|t| TargetRow {
                    key: t.to_string(),
                    href: page_of(t),
                    name: names.target(t),
                    on_call: on_call.remove(t).unwrap_or_default(),
                    gaps: report.gaps.iter().filter(|g| &g.target == t).count(),
                    stale: report.stale.iter().filter(|(s, _)| s == t).count(),
                })
                .collect(),
        })
        .collect();
    let gaps = report
        .gaps
        .iter()
        .map(|g| GapRow {
            key: g.target.to_string(),
            href: page_of(&g.target),
            name: names.target(&g.target),
            from: local(g.from, SHORT),
            to: local(g.to, SHORT),
        })
        .collect();
    let stale = report
        .stale
        .iter()
        .map(|(t, p)| StaleRow {
            key: t.to_string(),
            href: page_of(t),
            name: names.target(t),
            person: names.person(p),
        })
        .collect();
    render(&ListPage {
        chrome: Chrome::of(&session, "rota.title"),
        gaps,
        stale,
        sections,
    })
}

// ----- One rota -----

/// A weekly shift as the rota page lists it.
struct ShiftView {
    id: i64,
    weekday: &'static str,
    start: String,
    end: String,
    next_day: bool,
    person: String,
    role: &'static str,
    stale: bool,
}

/// An override as the rota page lists it.
struct OverrideView {
    id: i64,
    from: String,
    to: String,
    person: String,
    role: &'static str,
    mode: &'static str,
    stale: bool,
}

/// What was typed in the shift form, given back after a refusal.
struct ShiftDraft {
    weekday: String,
    start: String,
    end: String,
    person: String,
    role: String,
}

impl Default for ShiftDraft {
    fn default() -> Self {
        Self {
            weekday: "1".into(),
            start: String::new(),
            end: String::new(),
            person: String::new(),
            role: RotaRole::Primary.as_str().into(),
        }
    }
}

impl ShiftDraft {
    fn of(form: &FormData) -> Self {
        Self {
            weekday: form.text("weekday").into(),
            start: form.text("start").into(),
            end: form.text("end").into(),
            person: form.text("person").into(),
            role: form.text("role").into(),
        }
    }
}

/// What was typed in the override form, given back after a refusal.
struct OverrideDraft {
    from: String,
    to: String,
    person: String,
    role: String,
    mode: String,
}

impl Default for OverrideDraft {
    fn default() -> Self {
        Self {
            from: String::new(),
            to: String::new(),
            person: String::new(),
            role: RotaRole::Primary.as_str().into(),
            mode: OverrideMode::Replace.as_str().into(),
        }
    }
}

impl OverrideDraft {
    fn of(form: &FormData) -> Self {
        Self {
            from: form.text("from").into(),
            to: form.text("to").into(),
            person: form.text("person").into(),
            role: form.text("role").into(),
            mode: form.text("mode").into(),
        }
    }
}

#[derive(Template)]
#[template(path = "rota_target.html")]
struct TargetPage {
    chrome: Chrome,
    key: String,
    href: String,
    name: String,
    message: Option<String>,
    on_call: Vec<String>,
    gaps: Vec<(String, String)>,
    shifts: Vec<ShiftView>,
    overrides: Vec<OverrideView>,
    people: Vec<(String, String)>,
    weekdays: Vec<(String, &'static str)>,
    roles: Vec<(&'static str, &'static str)>,
    modes: Vec<(&'static str, &'static str)>,
    shift: ShiftDraft,
    over: OverrideDraft,
}

/// A target's rota as the page shows it: every shift, the overrides from `now` on.
async fn load_rota(
    state: &AppState,
    target: &Target,
    now: DateTime<Utc>,
    lang: Lang,
) -> Result<Rota, Response> {
    rota::load(&state.db, target, now, now + Duration::days(HORIZON_DAYS))
        .await
        .map_err(|e| PageError::from_db(e, lang).into_response())
}

/// The target named in the path, if it is one the page can show.
fn parse_target(raw: &str, lang: Lang) -> Result<Target, PageError> {
    raw.parse().map_err(|_| PageError::not_found(lang))
}

/// A refusal in the page's language, or the response for a failure no form can fix.
fn refusal(e: RotaError, lang: Lang) -> Result<String, PageError> {
    let it = match &e {
        RotaError::Db(_) | RotaError::NotFound => {
            return Err(match e {
                RotaError::Db(e) => PageError::from_db(e, lang),
                _ => PageError::not_found(lang),
            })
        }
        RotaError::InvalidTarget(t) => format!("`{t}` non è un turno di reperibilità."),
        RotaError::InvalidPerson(p) if p.is_empty() => "Scegli la persona reperibile.".into(),
        RotaError::InvalidPerson(p) => {
            format!("`{p}` non è una persona che può essere reperibile.")
        }
        RotaError::InvalidRole(r) => format!("Ruolo sconosciuto `{r}`: primario o riserva."),
        RotaError::InvalidMode(m) => {
            format!("Modalità sconosciuta `{m}`: sostituisce o si aggiunge.")
        }
        RotaError::UnknownUnit(u) => format!("Nessuna unità `{u}` nell'elenco."),
        RotaError::UnknownLanguage(l) => format!("Nessun mediatore dell'elenco parla `{l}`."),
        RotaError::UnknownContact(c) => format!("Nessun referente `{c}` nell'elenco."),
        RotaError::UnknownMediator(m) => format!("Nessun mediatore `{m}` nell'elenco."),
        RotaError::UnknownUser(id) => format!("Nessun operatore attivo con id {id}."),
        RotaError::NotForTarget { person, target } => {
            format!("{person} non può essere reperibile per {target}.")
        }
        RotaError::InvalidTime => "Gli orari dei turni sono a minuti interi.".into(),
        RotaError::EmptyOverride => "Una variazione deve finire dopo il suo inizio.".into(),
        RotaError::Duplicate => "Questo turno c'è già.".into(),
    };
    Ok(match lang {
        Lang::It => it,
        Lang::En => {
            let en = e.to_string();
            // Capital and full stop, as the console's other messages.
            let mut chars = en.chars();
            match chars.next() {
                Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
                None => en,
            }
        }
    })
}

/// The rota page of `target`, with a message and the forms as typed.
async fn target_page(
    state: &AppState,
    session: &Session,
    target: &Target,
    status: StatusCode,
    message: Option<String>,
    shift: ShiftDraft,
    over: OverrideDraft,
) -> Response {
    let lang = session.lang;
    let names = match Names::load(state, lang).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let now = state.clock.now();
    let rota = match load_rota(state, target, now, lang).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !known(&state.directory.current(), target)
        && rota.shifts.is_empty()
        && rota.overrides.is_empty()
    {
        return PageError::not_found(lang).into_response();
    }
    let on_call = rota
        .on_call_at(now)
        .iter()
        .map(|c| format!("{} ({})", names.person(&c.person), role_label(lang, c.role)))
        .collect();
    let gaps = rota
        .gaps(now, now + Duration::days(WARNING_DAYS))
        .into_iter()
        .map(|(a, b)| (local(a, SHORT), local(b, SHORT)))
        .collect();
    let mut shifts: Vec<&rota::Stored<WeeklyShift>> = rota.shifts.iter().collect();
    shifts.sort_by_key(|s| {
        (
            s.value.weekday.num_days_from_monday(),
            s.value.start,
            s.value.role,
            s.id,
        )
    });
    let shifts = shifts
        .into_iter()
        .map(|s| ShiftView {
            id: s.id,
            weekday: weekday_label(lang, s.value.weekday),
            start: s.value.start.format("%H:%M").to_string(),
            end: s.value.end.format("%H:%M").to_string(),
            next_day: s.value.end <= s.value.start,
            person: names.person(&s.value.person),
            role: role_label(lang, s.value.role),
            stale: !names.fits(target, &s.value.person),
        })
        .collect();
    let overrides = rota
        .overrides
        .iter()
        .map(|o| OverrideView {
            id: o.id,
            from: local(o.value.from, LONG),
            to: local(o.value.to, LONG),
            person: names.person(&o.value.person),
            role: role_label(lang, o.value.role),
            mode: mode_label(lang, o.value.mode),
            stale: !names.fits(target, &o.value.person),
        })
        .collect();
    let weekdays = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .map(|d| (d.number_from_monday().to_string(), weekday_label(lang, d)))
    .collect();
    let mut chrome = Chrome::of(session, "rota.title");
    let name = names.target(target);
    chrome.title = format!("{name} · {}", chrome.title);
    let page = TargetPage {
        chrome,
        key: target.to_string(),
        href: page_of(target),
        name,
        message,
        on_call,
        gaps,
        shifts,
        overrides,
        people: names.choices(target),
        weekdays,
        roles: RotaRole::ALL
            .into_iter()
            .map(|r| (r.as_str(), role_label(lang, r)))
            .collect(),
        modes: [OverrideMode::Replace, OverrideMode::Add]
            .into_iter()
            .map(|m| (m.as_str(), mode_label(lang, m)))
            .collect(),
        shift,
        over,
    };
    (status, render(&page)).into_response()
}

/// A removal that failed: gone meanwhile (404) or storage.
fn removal_error(e: RotaError, lang: Lang) -> Response {
    match e {
        RotaError::Db(e) => PageError::from_db(e, lang).into_response(),
        _ => PageError::not_found(lang).into_response(),
    }
}

/// `GET /admin/rotas/{target}`
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(target): Path<String>,
) -> Response {
    if let Err(e) = session.require(&ROTA_ROLES) {
        return e.into_response();
    }
    let target = match parse_target(&target, session.lang) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    target_page(
        &state,
        &session,
        &target,
        StatusCode::OK,
        None,
        ShiftDraft::default(),
        OverrideDraft::default(),
    )
    .await
}

/// A clock time as `type="time"` sends it: `HH:MM`, or `HH:MM:SS` with a step.
fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .ok()
}

/// A date and time as `type="datetime-local"` sends it.
fn parse_local(s: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .into_iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    s.parse::<u8>()
        .ok()
        .filter(|n| (1..=7).contains(n))
        .and_then(|n| Weekday::try_from(n - 1).ok())
}

/// The shift a form describes, or what is wrong with it (in the page's language).
fn shift_of(form: &FormData, lang: Lang) -> Result<WeeklyShift, Result<String, PageError>> {
    let say = |it: &str, en: &str| Err(Ok(lang.pick(it, en).to_string()));
    let Some(weekday) = parse_weekday(form.text("weekday")) else {
        return say(
            "Scegli il giorno della settimana.",
            "Choose the day of the week.",
        );
    };
    let Some(start) = parse_time(form.text("start")) else {
        return say(
            "Ora di inizio non valida: scrivila come HH:MM.",
            "Invalid start time: write it as HH:MM.",
        );
    };
    let Some(end) = parse_time(form.text("end")) else {
        return say(
            "Ora di fine non valida: scrivila come HH:MM.",
            "Invalid end time: write it as HH:MM.",
        );
    };
    let person = form.text("person").parse().map_err(|e| refusal(e, lang))?;
    let role = form.text("role").parse().map_err(|e| refusal(e, lang))?;
    Ok(WeeklyShift {
        weekday,
        start,
        end,
        person,
        role,
    })
}

/// The override a form describes, or what is wrong with it (in the page's language).
fn override_of(form: &FormData, lang: Lang) -> Result<Override, Result<String, PageError>> {
    let say = |it: &str, en: &str| Err(Ok(lang.pick(it, en).to_string()));
    let Some(from) = parse_local(form.text("from")) else {
        return say(
            "Inizio non valido: indica data e ora.",
            "Invalid start: give a date and a time.",
        );
    };
    let Some(to) = parse_local(form.text("to")) else {
        return say(
            "Fine non valida: indica data e ora.",
            "Invalid end: give a date and a time.",
        );
    };
    let person = form.text("person").parse().map_err(|e| refusal(e, lang))?;
    let role = form.text("role").parse().map_err(|e| refusal(e, lang))?;
    let mode = form.text("mode").parse().map_err(|e| refusal(e, lang))?;
    Ok(Override::from_local(from, to, person, role, mode))
}

fn shift_detail(id: i64, s: &WeeklyShift) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "weekday": s.weekday.number_from_monday(),
        "start": s.start.format("%H:%M").to_string(),
        "end": s.end.format("%H:%M").to_string(),
        "person": s.person.to_string(),
        "role": s.role.as_str(),
    })
}

fn override_detail(id: i64, o: &Override) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "from": o.from.to_rfc3339(),
        "to": o.to.to_rfc3339(),
        "person": o.person.to_string(),
        "role": o.role.as_str(),
        "mode": o.mode.as_str(),
    })
}

/// The admin session and the known target of a posted rota form, or the refusal.
fn admitted(state: &AppState, session: &Session, raw: &str) -> Result<Target, PageError> {
    session.require(&ROTA_ROLES)?;
    let target = parse_target(raw, session.lang)?;
    if known(&state.directory.current(), &target) {
        Ok(target)
    } else {
        Err(PageError::not_found(session.lang))
    }
}

/// `POST /admin/rotas/{target}/shifts`: adds a weekly shift.
pub async fn add_shift(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    let target = match admitted(&state, &session, &raw) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let lang = session.lang;
    let now = state.clock.now();
    let added = match shift_of(&form, lang) {
        Ok(shift) => rota::add_shift(
            &state.db,
            &state.directory.current(),
            &target,
            &shift,
            Some(session.user.id),
            now,
        )
        .await
        .map(|id| (id, shift))
        .map_err(|e| refusal(e, lang)),
        Err(refused) => Err(refused),
    };
    match added {
        Ok((id, shift)) => {
            let detail = shift_detail(id, &shift);
            if let Err(r) = audited(
                &state,
                &session,
                "rota.shift_add",
                "rota",
                target.to_string(),
                detail,
            )
            .await
            {
                return r;
            }
            Redirect::to(&page_of(&target)).into_response()
        }
        Err(Ok(message)) => {
            target_page(
                &state,
                &session,
                &target,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                ShiftDraft::of(&form),
                OverrideDraft::default(),
            )
            .await
        }
        Err(Err(e)) => e.into_response(),
    }
}

/// `POST /admin/rotas/{target}/overrides`: adds an override.
pub async fn add_override(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    let target = match admitted(&state, &session, &raw) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let lang = session.lang;
    let now = state.clock.now();
    let added = match override_of(&form, lang) {
        Ok(o) => rota::add_override(
            &state.db,
            &state.directory.current(),
            &target,
            &o,
            Some(session.user.id),
            now,
        )
        .await
        .map(|id| (id, o))
        .map_err(|e| refusal(e, lang)),
        Err(refused) => Err(refused),
    };
    match added {
        Ok((id, o)) => {
            let detail = override_detail(id, &o);
            if let Err(r) = audited(
                &state,
                &session,
                "rota.override_add",
                "rota",
                target.to_string(),
                detail,
            )
            .await
            {
                return r;
            }
            Redirect::to(&page_of(&target)).into_response()
        }
        Err(Ok(message)) => {
            target_page(
                &state,
                &session,
                &target,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                ShiftDraft::default(),
                OverrideDraft::of(&form),
            )
            .await
        }
        Err(Err(e)) => e.into_response(),
    }
}

/// The admin session and the target of a removal, whatever the directory says now (a
/// rota gone from the directory must still be emptied).
fn admitted_any(session: &Session, raw: &str) -> Result<Target, PageError> {
    session.require(&ROTA_ROLES)?;
    parse_target(raw, session.lang)
}

/// `POST /admin/rotas/{target}/shifts/{id}/remove`
pub async fn remove_shift(
    State(state): State<AppState>,
    Path((raw, id)): Path<(String, i64)>,
    posted: Posted,
) -> Response {
    let Posted { session, .. } = posted;
    let target = match admitted_any(&session, &raw) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let lang = session.lang;
    // Looked up in this target's rota first, so that a form of one rota cannot remove
    // another's entry, and so that the audit says what was removed.
    let shift = match load_rota(&state, &target, state.clock.now(), lang).await {
        Ok(r) => r.shifts.into_iter().find(|s| s.id == id),
        Err(r) => return r,
    };
    let Some(shift) = shift else {
        return PageError::not_found(lang).into_response();
    };
    if let Err(e) = rota::remove_shift(&state.db, id).await {
        return removal_error(e, lang);
    }
    let detail = shift_detail(id, &shift.value);
    if let Err(r) = audited(
        &state,
        &session,
        "rota.shift_remove",
        "rota",
        target.to_string(),
        detail,
    )
    .await
    {
        return r;
    }
    Redirect::to(&page_of(&target)).into_response()
}

/// `POST /admin/rotas/{target}/overrides/{id}/remove`
pub async fn remove_override(
    State(state): State<AppState>,
    Path((raw, id)): Path<(String, i64)>,
    posted: Posted,
) -> Response {
    let Posted { session, .. } = posted;
    let target = match admitted_any(&session, &raw) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let lang = session.lang;
    let found = match load_rota(&state, &target, state.clock.now(), lang).await {
        Ok(r) => r.overrides.into_iter().find(|o| o.id == id),
        Err(r) => return r,
    };
    let Some(found) = found else {
        return PageError::not_found(lang).into_response();
    };
    if let Err(e) = rota::remove_override(&state.db, id).await {
        return removal_error(e, lang);
    }
    let detail = override_detail(id, &found.value);
    if let Err(r) = audited(
        &state,
        &session,
        "rota.override_remove",
        "rota",
        target.to_string(),
        detail,
    )
    .await
    {
        return r;
    }
    Redirect::to(&page_of(&target)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_codes_readable_and_encode_the_rest() {
        assert_eq!(href(&Target::Unit("fi-pronta".into())), "unit:fi-pronta");
        assert_eq!(href(&Target::Unit("a b/c".into())), "unit:a%20b%2Fc");
        assert_eq!(href(&Target::NightOperators), "night_operators");
    }

    #[test]
    fn form_times_are_read_as_browsers_send_them() {
        assert_eq!(parse_time("22:00"), NaiveTime::from_hms_opt(22, 0, 0));
        assert_eq!(parse_time("08:30:00"), NaiveTime::from_hms_opt(8, 30, 0));
        assert_eq!(parse_time("8h"), None);
        assert!(parse_local("2026-03-29T02:30").is_some());
        assert_eq!(parse_weekday("7"), Some(Weekday::Sun));
        assert_eq!(parse_weekday("0"), None);
    }
}

//! The managers' dashboard: a period and territory form, then the calls, the cases, the
//! mediation and the referrals of that scope; charts drawn as SVG by the server
//! (readable without JavaScript), each beside the table it draws, for screen readers and
//! for copying. The sections after the calls are shaped in `stats_sections`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Days};
use serde::Deserialize;

use super::page::{render, Chrome, PageError};
use super::session::Session;
use super::stats_sections::{
    cases_view, mediation_view, outcomes_view, referrals_view, CasesView, MediationView,
    OutcomesView, ReferralsView,
};
use crate::app::AppState;
use crate::auth::Role;
use crate::stats::calls::{CallFigures, Spread};
use crate::stats::report::{duration, period_message, ReportError};
use crate::stats::{dashboard_within, Period, Scope, ZONE};
use crate::web::i18n::Lang;

/// How long a page may spend counting days written to since they were last counted,
/// well within the request timeout; the background task counts the rest.
const COUNTING_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

/// Who reads the statistics.
pub const STATS_ROLES: [Role; 3] = [Role::Manager, Role::Supervisor, Role::Admin];

/// Width of the longest bar, in SVG units.
pub(super) const BAR_MAX: f64 = 300.0;
/// Side of a heat-map cell, in SVG units.
const CELL: u32 = 18;

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD&territory=FI`; all optional.
#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    from: Option<String>,
    to: Option<String>,
    territory: Option<String>,
}

/// One bar of the outcomes chart and its table row.
pub struct Bar {
    /// Label in the page's language.
    pub label: &'static str,
    /// Calls.
    pub count: i64,
    /// Top of the bar.
    pub y: u32,
    /// Length of the bar.
    pub width: String,
}

/// One cell of the heat map.
pub struct Cell {
    /// Left.
    pub x: u32,
    /// Top.
    pub y: u32,
    /// Calls.
    pub count: i64,
    /// Shade, from 0 (none) to 1 (the busiest hour).
    pub shade: String,
}

/// A weekday's row of the heat map's table.
pub struct DayRow {
    /// Weekday name.
    pub day: &'static str,
    /// Calls in each hour, 0 to 23.
    pub hours: Vec<i64>,
}

/// The figures as shown.
pub struct CallsView {
    /// Calls in the scope.
    pub total: i64,
    /// Outcomes chart.
    pub bars: Vec<Bar>,
    /// Calls sent to the on-call mobile at some point.
    pub through_overflow: i64,
    /// First-time, repeat and withheld callers.
    pub first_time: i64,
    /// Repeat callers.
    pub repeat: i64,
    /// Withheld numbers.
    pub withheld: i64,
    /// Waiting time.
    pub wait: SpreadView,
    /// Talk time.
    pub talk: SpreadView,
    /// Heat-map cells.
    pub cells: Vec<Cell>,
    /// Heat-map table.
    pub days: Vec<DayRow>,
}

/// A duration's spread, formatted.
pub struct SpreadView {
    /// Calls measured.
    pub count: i64,
    /// Median.
    pub median: String,
    /// 90th percentile.
    pub p90: String,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    chrome: Chrome,
    from: String,
    to: String,
    territory: String,
    territories: Vec<(String, String)>,
    error: Option<String>,
    calls: Option<CallsView>,
    cases: Option<CasesView>,
    outcomes: Option<OutcomesView>,
    mediation: Option<MediationView>,
    referrals: Option<ReferralsView>,
    repeat_days: u32,
    pending_days: usize,
}

/// `GET /stats`
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<StatsQuery>,
) -> Response {
    if let Err(e) = session.require(&STATS_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let today = state.clock.now().with_timezone(&ZONE).date_naive();
    let first_of_month = today.with_day(1).unwrap_or(today);
    let default_to = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let from = q.from.unwrap_or_else(|| first_of_month.to_string());
    let to = q.to.unwrap_or_else(|| default_to.to_string());
    let territory = q.territory.unwrap_or_default().trim().to_string();
    let directory = state.directory.current();
    let territories = directory
        .territories
        .iter()
        .map(|t| (t.code.clone(), t.name.clone()))
        .collect::<Vec<_>>();
    let repeat_days = state.config.privacy.repeat_caller_window_days;
    let mut page = StatsPage {
        chrome: Chrome::of(&session, "stats.title"),
        from,
        to,
        territory,
        territories,
        error: None,
        calls: None,
        cases: None,
        outcomes: None,
        mediation: None,
        referrals: None,
        repeat_days,
        pending_days: 0,
    };

    let period = match Period::parse(&page.from, &page.to) {
        Ok(p) => p,
        Err(e) => {
            page.error = Some(period_message(&e, lang));
            return (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response();
        }
    };
    if !page.territory.is_empty() && directory.territory(&page.territory).is_none() {
        page.error = Some(ReportError::UnknownTerritory(page.territory.clone()).message(lang));
        return (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response();
    }
    let scope = Scope {
        period,
        territory: (!page.territory.is_empty()).then(|| page.territory.clone()),
    };
    let db = &state.db;
    let figures = match dashboard_within(db, &scope, repeat_days, COUNTING_BUDGET).await {
        Ok(f) => f,
        Err(e) => return PageError::from_db(e, lang).into_response(),
    };
    page.pending_days = figures.pending_days;
    page.calls = Some(view(&figures.calls, lang));
    page.cases = Some(cases_view(&figures.cases, &state.questionnaire, lang));
    page.outcomes = Some(outcomes_view(
        &figures.calls,
        &figures.cases,
        &state.questionnaire,
        lang,
    ));
    page.mediation = Some(mediation_view(&figures.mediation, lang));
    page.referrals = Some(referrals_view(&figures.referrals, &directory, lang));
    render(&page)
}

fn view(f: &CallFigures, lang: Lang) -> CallsView {
    let most = f
        .by_outcome
        .iter()
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0)
        .max(1);
    let bars = f
        .by_outcome
        .iter()
        .zip(0u32..)
        .map(|((outcome, n), i)| Bar {
            label: lang.t(outcome.label_key()),
            count: *n,
            y: 8 + i * 30,
            width: format!("{:.1}", *n as f64 / most as f64 * BAR_MAX),
        })
        .collect();
    let busiest = f.heat.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut cells = Vec::with_capacity(7 * 24);
    let mut days = Vec::with_capacity(7);
    for ((row, name), d) in f.heat.iter().zip(weekdays(lang)).zip(0u32..) {
        for (n, h) in row.iter().zip(0u32..) {
            cells.push(Cell {
                x: 80 + h * CELL,
                y: 20 + d * CELL,
                count: *n,
                shade: format!("{:.2}", *n as f64 / busiest as f64),
            });
        }
        days.push(DayRow {
            day: name,
            hours: row.to_vec(),
        });
    }
    CallsView {
        total: f.total,
        bars,
        through_overflow: f.through_overflow,
        first_time: f.first_time,
        repeat: f.repeat,
        withheld: f.withheld,
        wait: spread_view(&f.wait),
        talk: spread_view(&f.talk),
        cells,
        days,
    }
}

pub(super) fn spread_view(s: &Spread) -> SpreadView {
    let show = |v: Option<f64>| v.map_or_else(|| "—".to_string(), duration);
    SpreadView {
        count: s.count,
        median: show(s.median),
        p90: show(s.p90),
    }
}

fn weekdays(lang: Lang) -> [&'static str; 7] {
    match lang {
        Lang::It => [
            "lunedì",
            "martedì",
            "mercoledì",
            "giovedì",
            "venerdì",
            "sabato",
            "domenica",
        ],
        Lang::En => [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ],
    }
}

//! The periodic report and the downloads of the statistics, for the same roles and the
//! same period and territory as `/stats`: `GET /stats/report` (a printable page),
//! `GET /stats/export.csv?kind=aggregates|cases` and `GET /stats/export.json?subject=…`.
//! Every one is written to the audit log with who, what and which period.
//!
//! Small-number protection (`suppress=on|off`) is on by default for the aggregates and
//! the JSON, which leave the organisation, off for the report page (on when asked) and
//! refused for the list of cases, which no hiding of cells can protect.

use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::intake::audited;
use super::page::PageError;
use super::session::Session;
use super::stats_page::STATS_ROLES;
use crate::app::AppState;
use crate::stats::report::{
    csv, file_stem, html, json, records, Labels, Report, ReportError, Subject,
};
use crate::stats::{dashboard, Period, Scope};

/// The query of the three routes; every field optional.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    territory: Option<String>,
    /// `on` or `off`.
    suppress: Option<String>,
    /// CSV: `aggregates` or `cases`.
    kind: Option<String>,
    /// JSON: `calls`, `cases`, `mediation` or `referrals`.
    subject: Option<String>,
}

/// What was asked, once checked.
struct Asked {
    scope: Scope,
    territory_name: Option<String>,
    threshold: Option<u32>,
}

/// The scope and the protection asked for; `protect` is the default when the query
/// does not say.
fn asked(state: &AppState, q: &ExportQuery, protect: bool) -> Result<Asked, Response422> {
    let from = q.from.as_deref().unwrap_or_default();
    let to = q.to.as_deref().unwrap_or_default();
    let period = Period::parse(from, to).map_err(|e| Response422(ReportError::Period(e)))?;
    let territory = q
        .territory
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let territory_name = match &territory {
        Some(code) => Some(
            state
                .directory
                .current()
                .territory(code)
                .map(|t| t.name.clone())
                .ok_or_else(|| Response422(ReportError::UnknownTerritory(code.clone())))?,
        ),
        None => None,
    };
    let protect = match q.suppress.as_deref() {
        None => protect,
        Some("on" | "1" | "true") => true,
        Some("off" | "0" | "false") => false,
        Some(other) => {
            return Err(Response422(ReportError::Usage(format!(
                "suppress: `{other}`; expected on or off"
            ))))
        }
    };
    Ok(Asked {
        scope: Scope { period, territory },
        territory_name,
        threshold: protect.then_some(state.config.stats.suppress_below),
    })
}

/// A refused request, shown as the console's error page (422).
struct Response422(ReportError);

impl Response422 {
    fn into_page(self, session: &Session) -> Response {
        match self.0 {
            ReportError::Db(e) => PageError::from_db(e, session.lang).into_response(),
            e => PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                session.lang,
                e.message(session.lang),
            )
            .into_response(),
        }
    }
}

async fn report(state: &AppState, asked: &Asked) -> Result<Report, Response422> {
    let figures = dashboard(
        &state.db,
        &asked.scope,
        state.config.privacy.repeat_caller_window_days,
    )
    .await
    .map_err(|e| Response422(e.into()))?;
    let directory = state.directory.current();
    let labels = Labels {
        questionnaire: &state.questionnaire,
        directory: &directory,
    };
    Ok(Report::build(
        &figures,
        &labels,
        asked.threshold,
        Utc::now(),
    ))
}

/// Records the download; a failure to record stops it (an export nobody can trace is
/// worse than none).
async fn audit(
    state: &AppState,
    session: &Session,
    what: &str,
    asked: &Asked,
) -> Result<(), Response> {
    audited(
        state,
        session,
        "stats.export",
        "stats",
        what.to_string(),
        json!({
            "from": asked.scope.period.from.to_string(),
            "to": asked.scope.period.to.to_string(),
            "territory": asked.scope.territory,
            "suppress_below": asked.threshold,
        }),
    )
    .await
}

fn download(content_type: &'static str, file: String, body: Vec<u8>) -> Response {
    (
        [
            (CONTENT_TYPE, content_type.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// `GET /stats/report`
pub async fn report_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ExportQuery>,
) -> Response {
    if let Err(e) = session.require(&STATS_ROLES) {
        return e.into_response();
    }
    let asked = match asked(&state, &q, false) {
        Ok(a) => a,
        Err(e) => return e.into_page(&session),
    };
    let report = match report(&state, &asked).await {
        Ok(r) => r,
        Err(e) => return e.into_page(&session),
    };
    if let Err(r) = audit(&state, &session, "report.html", &asked).await {
        return r;
    }
    let back = format!(
        "/stats?from={}&to={}&territory={}",
        asked.scope.period.from,
        asked.scope.period.to,
        asked.scope.territory.as_deref().unwrap_or_default()
    );
    match html::render(
        &report,
        session.lang,
        asked.territory_name.as_deref(),
        Some(&back),
    ) {
        Ok(page) => ([(CACHE_CONTROL, "no-store")], Html(page)).into_response(),
        Err(e) => Response422(e.into()).into_page(&session),
    }
}

/// `GET /stats/export.csv`
pub async fn export_csv(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ExportQuery>,
) -> Response {
    if let Err(e) = session.require(&STATS_ROLES) {
        return e.into_response();
    }
    let cases = match q.kind.as_deref() {
        None | Some("aggregates") => false,
        Some("cases") => true,
        Some(other) => {
            return Response422(ReportError::Usage(format!(
                "kind: `{other}`; expected aggregates or cases"
            )))
            .into_page(&session)
        }
    };
    let asked = match asked(&state, &q, !cases) {
        Ok(a) if cases && a.threshold.is_some() => {
            return Response422(ReportError::CasesNotProtectable).into_page(&session)
        }
        Ok(a) => a,
        Err(e) => return e.into_page(&session),
    };
    let made = if cases {
        match records::case_records(&state.db, &asked.scope).await {
            Ok(r) => csv::cases(&r).map(|b| (b, "cases", "casi")),
            Err(e) => Err(e.into()),
        }
    } else {
        match report(&state, &asked).await {
            Ok(r) => csv::aggregates(&r, session.lang).map(|b| (b, "aggregates", "aggregati")),
            Err(e) => Err(e.0),
        }
    };
    let (body, what, word) = match made {
        Ok(m) => m,
        Err(e) => return Response422(e).into_page(&session),
    };
    if let Err(r) = audit(&state, &session, &format!("{what}.csv"), &asked).await {
        return r;
    }
    let file = format!("{}.csv", file_stem(&asked.scope, word));
    download("text/csv; charset=utf-8; header=present", file, body)
}

/// `GET /stats/export.json`
pub async fn export_json(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ExportQuery>,
) -> Response {
    if let Err(e) = session.require(&STATS_ROLES) {
        return e.into_response();
    }
    let Some(subject) = q.subject.as_deref().and_then(Subject::parse) else {
        return Response422(ReportError::Usage(
            "subject: expected calls, cases, mediation or referrals".into(),
        ))
        .into_page(&session);
    };
    let asked = match asked(&state, &q, true) {
        Ok(a) => a,
        Err(e) => return e.into_page(&session),
    };
    let report = match report(&state, &asked).await {
        Ok(r) => r,
        Err(e) => return e.into_page(&session),
    };
    let body = match serde_json::to_vec_pretty(&json::export(&report, subject)) {
        Ok(b) => b,
        Err(e) => return Response422(e.into()).into_page(&session),
    };
    if let Err(r) = audit(
        &state,
        &session,
        &format!("{}.json", subject.code()),
        &asked,
    )
    .await
    {
        return r;
    }
    let file = format!("{}.json", file_stem(&asked.scope, subject.file_word()));
    download("application/json", file, body)
}

//! The audit log as supervisors read it: newest first, a page at a time. Nobody can
//! change it from here or anywhere (the database refuses).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::Role;
use crate::with_db;

const PAGE: i64 = 100;

/// One row as shown.
pub struct AuditRow {
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub object: String,
    /// From where.
    pub address: String,
    /// Extra facts.
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditRow>,
    before: Option<i64>,
}

/// `?before=ID`: the page of entries older than ID.
#[derive(Debug, Deserialize)]
pub struct Paging {
    before: Option<i64>,
}

type Row = (
    i64,
    DateTime<Utc>,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
);

/// `GET /audit`
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(paging): Query<Paging>,
) -> Response {
    if let Err(e) = session.require(&[Role::Supervisor, Role::Admin]) {
        return e.into_response();
    }
    let before = paging.before.unwrap_or(i64::MAX);
    let rows: Result<Vec<Row>, sqlx::Error> = with_db!(&state.db, |pool| sqlx::query_as(
        "select id, at, actor, action, object_kind, object_id, address, detail from audit_log \
         where id < $1 order by id desc limit $2"
    )
    .bind(before)
    .bind(PAGE)
    .fetch_all(pool)
    .await);
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return PageError::from_db(e.into(), session.lang).into_response(),
    };
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.0))
        .flatten();
    let rows = rows
        .into_iter()
        .map(
            |(_, at, actor, action, kind, id, address, detail)| AuditRow {
                at,
                actor,
                action,
                object: if id.is_empty() {
                    kind
                } else {
                    format!("{kind} {id}")
                },
                address: address.unwrap_or_default(),
                detail,
            },
        )
        .collect();
    render(&AuditPage {
        chrome: Chrome::of(&session, "audit.title"),
        rows,
        before: next,
    })
}

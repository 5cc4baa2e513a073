//! Operations endpoints: liveness, readiness and Prometheus metrics.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::json;

use super::error::ApiError;
use crate::app::AppState;
use crate::calls::{store as calls, CallState};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process is alive")))]
/// The process is alive (says nothing of the database).
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Database reachable and migrated"),
    (status = 503, description = "Not ready"),
))]
/// Ready to serve: the database answers and every migration is applied.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    match state.db.is_ready().await {
        Ok(true) => Ok(Json(json!({ "status": "ready" }))),
        Ok(false) => Err(ApiError::unavailable(
            "database schema is not migrated to this version",
        )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::unavailable("database unreachable"))
        }
    }
}

/// One scrape at a time, so the gauges set from the database and the text rendered from
/// them belong together.
static SCRAPE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Prometheus text: calls by state, job queue depth and lag, HTTP requests.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let _one = SCRAPE.lock().await;
    let now = Utc::now();
    let (calls, queue) = tokio::join!(calls::count_by_state(&state.db), state.jobs.stats(now));
    let up = calls.is_ok() && queue.is_ok();
    metrics::gauge!("helpline_database_up").set(if up { 1.0 } else { 0.0 });
    if let Ok(rows) = calls {
        for s in CallState::ALL {
            let n = rows
                .iter()
                .find(|(name, _)| name == s.as_str())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            metrics::gauge!("helpline_calls", "state" => s.as_str()).set(n as f64);
        }
    }
    if let Ok(q) = queue {
        metrics::gauge!("helpline_jobs", "state" => "due").set(q.due as f64);
        metrics::gauge!("helpline_jobs", "state" => "scheduled").set(q.scheduled as f64);
        metrics::gauge!("helpline_jobs", "state" => "running").set(q.running as f64);
        metrics::gauge!("helpline_jobs", "state" => "failed").set(q.failed as f64);
        metrics::gauge!("helpline_jobs_lag_seconds").set(q.lag_seconds);
    }
    let body = state.metrics.render();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

//! HTTP: the router that lists every route, and the layers around it (tracing, timeout,
//! body limit, panic catching, request metrics).

pub mod calls;
pub mod console;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod openapi;
pub mod ops;
pub mod sms_hooks;

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use error::ApiError;

/// Largest request body accepted.
const BODY_LIMIT: usize = 1 << 20;

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_millis(state.config.http.request_timeout_ms);
    Router::new()
        .merge(ops::router())
        .merge(calls::router())
        .merge(console::router())
        .merge(sms_hooks::router())
        .merge(crate::telephony::twilio::router())
        .merge(openapi::router())
        .fallback(|| async { ApiError::not_found("no such resource") })
        .layer(middleware::from_fn(record_request))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                )
                .into_response()
            },
        ))
        // Spans carry the method and the route template only: never the path itself
        // (acknowledgement links carry their token in it), headers (tokens) or bodies
        // (numbers).
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of one request: its method and the route it matched.
fn request_span(req: &Request) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    tracing::debug_span!("request", method = %req.method(), route)
}

/// Counts requests and their latency by route and status.
async fn record_request(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("helpline_http_requests_total", &labels).increment(1);
    metrics::histogram!("helpline_http_request_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

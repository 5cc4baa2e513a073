//! The OpenAPI document of the JSON API, generated from the handlers' annotations.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{calls, error, ops};
use crate::app::AppState;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "helpline API", version = "1", description = "Numero Verde Anti-Tratta: call records and operations."),
    paths(calls::open_call, calls::get_call, calls::add_event, ops::healthz, ops::readyz),
    components(schemas(
        calls::OpenCall, calls::NewEvent, error::ErrorBody, error::ErrorDetail,
        crate::calls::CallRecord, crate::calls::CallEvent, crate::calls::Timings,
        crate::calls::CallState, crate::calls::Channel, crate::calls::CallId,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// `GET /api/v1/openapi.json`
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/openapi.json",
        get(|| async { Json(ApiDoc::openapi()) }),
    )
}

//! The operators' console: HTML pages rendered by the server (askama), usable without
//! JavaScript except for the board's live updates; Italian first, English second.

pub mod account;
pub mod admin;
pub mod audit_page;
pub mod board;
pub mod board_data;
pub mod form;
pub mod live;
pub mod login;
pub mod page;
pub mod session;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang/{code}", get(login::switch_lang))
        .route(
            "/account/password",
            get(account::show).post(account::change),
        )
        .route("/board", get(board::page))
        .route("/board/events", get(board::events))
        .route("/board/status", post(board::set_status))
        .route("/admin/users", get(admin::list).post(admin::add))
        .route("/admin/users/{id}", post(admin::update))
        .route("/admin/users/{id}/reset", post(admin::reset))
        .route("/audit", get(audit_page::show))
        .route("/assets/app.css", get(css))
        .route("/assets/board.js", get(board_js))
}

/// Assets ship inside the binary: no CDN, nothing to install beside it.
async fn css() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../assets/app.css"),
    )
}

async fn board_js() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../assets/board.js"),
    )
}

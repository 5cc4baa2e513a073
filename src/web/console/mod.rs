//! The operators' console: HTML pages rendered by the server (askama), usable without
//! JavaScript except for the board's live updates; Italian first, English second.

pub mod account;
pub mod admin;
pub mod audit_page;
pub mod board;
pub mod board_data;
pub mod callbacks_page;
pub mod closing;
pub mod directory_forms;
pub mod directory_page;
pub mod failures_page;
pub mod form;
pub mod intake;
pub mod intake_view;
pub mod live;
pub mod login;
pub mod mediation_live;
pub mod mediation_page;
pub mod page;
pub mod referrals_page;
pub mod rota_page;
pub mod session;
pub mod stats_export;
pub mod stats_page;
pub mod stats_sections;
pub mod subjects_page;

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
        .route("/admin/directory", get(directory_page::overview))
        .route(
            "/admin/directory/coordinator",
            get(directory_forms::coordinator_show).post(directory_forms::coordinator_update),
        )
        .route("/admin/directory/units", post(directory_forms::unit_create))
        .route("/admin/directory/units/new", get(directory_forms::unit_new))
        .route(
            "/admin/directory/units/{code}",
            get(directory_forms::unit_show).post(directory_forms::unit_update),
        )
        .route(
            "/admin/directory/contacts",
            post(directory_forms::contact_create),
        )
        .route(
            "/admin/directory/contacts/new",
            get(directory_forms::contact_new),
        )
        .route(
            "/admin/directory/contacts/{code}",
            get(directory_forms::contact_show).post(directory_forms::contact_update),
        )
        .route(
            "/admin/directory/contacts/{code}/remove",
            post(directory_forms::contact_remove),
        )
        .route(
            "/admin/directory/mediators",
            post(directory_forms::mediator_create),
        )
        .route(
            "/admin/directory/mediators/new",
            get(directory_forms::mediator_new),
        )
        .route(
            "/admin/directory/mediators/{code}",
            get(directory_forms::mediator_show).post(directory_forms::mediator_update),
        )
        .route(
            "/admin/directory/mediators/{code}/remove",
            post(directory_forms::mediator_remove),
        )
        .route("/admin/rotas", get(rota_page::list))
        .route("/admin/rotas/{target}", get(rota_page::show))
        .route("/admin/rotas/{target}/shifts", post(rota_page::add_shift))
        .route(
            "/admin/rotas/{target}/shifts/{id}/remove",
            post(rota_page::remove_shift),
        )
        .route(
            "/admin/rotas/{target}/overrides",
            post(rota_page::add_override),
        )
        .route(
            "/admin/rotas/{target}/overrides/{id}/remove",
            post(rota_page::remove_override),
        )
        .route("/audit", get(audit_page::show))
        .route("/stats", get(stats_page::show))
        .route("/stats/report", get(stats_export::report_page))
        .route("/stats/export.csv", get(stats_export::export_csv))
        .route("/stats/export.json", get(stats_export::export_json))
        .route("/notifications/failures", get(failures_page::show))
        .route("/calls/{id}/intake", get(intake::for_call))
        .route("/intakes", post(intake::create))
        .route("/intakes/new", get(intake::new_form))
        .route("/intakes/{id}", get(intake::show))
        .route("/intakes/{id}/steps/{step}", post(intake::save_step))
        .route("/intakes/{id}/summary", get(intake::summary))
        .route("/intakes/{id}/complete", post(intake::complete))
        .route("/intakes/{id}/override", post(intake::override_priority))
        .route("/intakes/{id}/subject", post(subjects_page::link))
        .route("/intakes/{id}/mediation", post(mediation_page::request))
        .route("/mediation", get(mediation_page::board))
        .route(
            "/mediation/{id}",
            get(mediation_page::show).post(mediation_page::change),
        )
        .route("/mediation/{id}/call", post(mediation_live::dial))
        .route("/mediation/{id}/drop", post(mediation_live::hang_up))
        .route("/calls/{id}/close", post(closing::close))
        .route("/callbacks/{id}", get(callbacks_page::show))
        .route("/callbacks/{id}/claim", post(callbacks_page::claim))
        .route("/callbacks/{id}/close", post(callbacks_page::close))
        .route("/intakes/{id}/referrals", post(referrals_page::send))
        .route("/cases", get(referrals_page::cases))
        .route("/cases/{id}", get(referrals_page::case))
        .route("/cases/{id}/answer", post(referrals_page::answer))
        .route("/cases/{id}/outcome", post(referrals_page::outcome))
        .route(
            "/ack/{token}",
            get(referrals_page::ack_page).post(referrals_page::ack_submit),
        )
        .route("/subjects", get(subjects_page::search))
        .route("/subjects/{code}", get(subjects_page::show))
        .route("/subjects/{code}/merge", post(subjects_page::merge))
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

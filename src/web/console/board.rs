//! The live call board: calls ringing, queued and in progress, the operators and their
//! status, pushed to the browser by server-sent events. Without JavaScript the page is
//! the same board, refreshed by reloading.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use futures::stream::Stream;
use futures::StreamExt;
use tokio_stream::wrappers::WatchStream;

use super::board_data::{self, BoardSnapshot, OperatorStatus};
use super::form::Posted;
use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::Role;
use crate::web::i18n::Lang;

/// Roles that see the board.
pub const BOARD_ROLES: [Role; 4] = [Role::Operator, Role::Supervisor, Role::Manager, Role::Admin];

/// The board's calls and operators as one template renders them (page and live feed).
#[derive(Template)]
#[template(path = "board_live.html")]
pub struct BoardLive<'a> {
    /// Language of the rendering.
    pub lang: Lang,
    /// The snapshot.
    pub board: &'a BoardSnapshot,
    /// Rendering time, for waiting times.
    pub now: DateTime<Utc>,
    /// The repeat-caller window, in days.
    pub days: u32,
    /// The reader's user name: the call they answered opens its intake.
    pub me: &'a str,
}

impl BoardLive<'_> {
    /// The console text for `key`.
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// Seconds since `at`, as m:ss.
    pub fn waited(&self, at: &DateTime<Utc>) -> String {
        let secs = (self.now - *at).num_seconds().max(0);
        format!("{}:{:02}", secs / 60, secs % 60)
    }

    /// "3ª chiamata in 90 giorni" / "3rd call in 90 days".
    pub fn repeat(&self, ordinal: &Option<i64>) -> String {
        let days = self.days;
        match (ordinal, self.lang) {
            (None, Lang::It) => "numero nascosto".into(),
            (None, Lang::En) => "number withheld".into(),
            (Some(1), Lang::It) => "prima chiamata".into(),
            (Some(1), Lang::En) => "first call".into(),
            (Some(n), Lang::It) => format!("{n}ª chiamata in {days} giorni"),
            (Some(n), Lang::En) => format!("{} call in {days} days", ordinal_en(*n)),
        }
    }

    /// The state's label.
    pub fn state_label(&self, state: &str) -> &'static str {
        let (it, en) = match state {
            "offered" => ("in arrivo", "incoming"),
            "menu" => ("menu lingua", "language menu"),
            "queued" => ("in coda", "queued"),
            "ringing" => ("squilla", "ringing"),
            "answered" => ("in conversazione", "in conversation"),
            _ => ("altro", "other"),
        };
        self.lang.pick(it, en)
    }

    /// `at` on the Europe/Rome clock, day and time.
    pub fn local_time(&self, at: &DateTime<Utc>) -> String {
        super::page::rome_time(at, "%d/%m %H:%M")
    }

    /// Minutes since `at`.
    pub fn minutes_since(&self, at: &DateTime<Utc>) -> i64 {
        (self.now - *at).num_minutes().max(0)
    }

    /// Whether the reader answered this call.
    pub fn is_mine(&self, call: &super::board_data::BoardCall) -> bool {
        call.state == "answered" && call.answered_by.as_deref() == Some(self.me)
    }

    /// Whether a call still waits for an operator (alert).
    pub fn is_waiting(&self, state: &str) -> bool {
        state != "answered"
    }
}

fn ordinal_en(n: i64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    chrome: Chrome,
    live: String,
    my_status: OperatorStatus,
    statuses: Vec<(&'static str, &'static str, bool)>,
    takes_calls: bool,
}

/// `GET /board`
pub async fn page(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = session.require(&BOARD_ROLES) {
        return e.into_response();
    }
    let now = state.clock.now();
    let window = state.config.privacy.repeat_caller_window_days;
    let settings = board_data::BoardSettings::from_config(&state.config);
    let board = match board_data::load(&state.db, state.clock.now(), &settings).await {
        Ok(b) => b,
        Err(e) => return PageError::from_db(e, session.lang).into_response(),
    };
    let live = render_live(session.lang, &board, now, window, &session.user.username);
    let my_status = board
        .operators
        .iter()
        .find(|o| o.user_id == session.user.id)
        .map(|o| o.status)
        .unwrap_or(OperatorStatus::Away);
    let statuses = OperatorStatus::ALL
        .into_iter()
        .map(|s| (s.as_str(), session.lang.t(s.label_key()), s == my_status))
        .collect();
    render(&BoardPage {
        chrome: Chrome::of(&session, "board.title"),
        live,
        my_status,
        statuses,
        takes_calls: session.is(&[Role::Operator, Role::Supervisor]),
    })
}

fn render_live(
    lang: Lang,
    board: &BoardSnapshot,
    now: DateTime<Utc>,
    days: u32,
    me: &str,
) -> String {
    match (BoardLive {
        lang,
        board,
        now,
        days,
        me,
    })
    .render()
    {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "live board failed to render");
            String::new()
        }
    }
}

/// `GET /board/events`: the live part of the board, re-rendered at every change.
pub async fn events(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = session.require(&BOARD_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let me = session.user.username.clone();
    let days = state.config.privacy.repeat_caller_window_days;
    let clock = state.clock.clone();
    let stream = WatchStream::new(state.board.subscribe())
        // The first value is the feed's previous snapshot; the poke in `subscribe`
        // brings a fresh one within moments.
        .skip(1)
        .map(move |snapshot: Arc<BoardSnapshot>| {
            let html = render_live(lang, &snapshot, clock.now(), days, &me);
            Ok::<Event, Infallible>(Event::default().event("board").data(html))
        })
        .take_until(state.shutdown.clone().cancelled_owned());
    sse(stream).into_response()
}

fn sse<S: Stream<Item = Result<Event, Infallible>> + Send + 'static>(
    stream: S,
) -> impl IntoResponse {
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// `POST /board/status`: the operator's own status.
pub async fn set_status(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&[Role::Operator, Role::Supervisor]) {
        return e.into_response();
    }
    let Ok(status) = form.text("status").parse::<OperatorStatus>() else {
        return PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            session.lang,
            session.lang.pick("Stato sconosciuto.", "Unknown status."),
        )
        .into_response();
    };
    if let Err(e) = board_data::set_status(&state.db, session.user.id, status, Utc::now()).await {
        return PageError::from_db(e, session.lang).into_response();
    }
    state.board.poke();
    Redirect::to("/board").into_response()
}

//! Callback tasks of missed calls, from the board: an operator takes one, sees the
//! number (only they, and the view is audited), calls back from the help-line's phone
//! and records how it went; closing erases the number.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use super::form::Posted;
use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::Role;
use crate::calls::callbacks::{self, CallbackError, Outcome, Task};
use crate::calls::seal::NumberSeal;
use crate::web::i18n::Lang;

/// Who calls back: the people who answer the line.
pub const CALLBACK_ROLES: [Role; 2] = [Role::Operator, Role::Supervisor];

#[derive(Template)]
#[template(path = "callback.html")]
struct CallbackPage {
    chrome: Chrome,
    task: Task,
    /// The number, to the operator who took the task.
    number: Option<String>,
    /// Taken by the reader.
    mine: bool,
    outcomes: Vec<(&'static str, &'static str)>,
}

impl CallbackPage {
    fn when(&self, at: &DateTime<Utc>) -> String {
        super::page::rome_time(at, "%d/%m/%Y %H:%M")
    }

    fn outcome_label(&self, code: &str) -> &'static str {
        let o = Outcome::CHOSEN
            .into_iter()
            .chain([Outcome::Expired])
            .find(|o| o.as_str() == code);
        match o {
            Some(o) => {
                let (it, en) = o.label();
                self.chrome.lang.pick(it, en)
            }
            None => "?",
        }
    }
}

fn error(e: CallbackError, lang: Lang) -> Response {
    let conflict = |it: &str, en: &str| {
        PageError::new(StatusCode::CONFLICT, lang, lang.pick(it, en).to_string()).into_response()
    };
    match e {
        CallbackError::NotFound => PageError::not_found(lang).into_response(),
        CallbackError::TakenBy(name) => PageError::new(
            StatusCode::CONFLICT,
            lang,
            format!(
                "{} {name}.",
                lang.pick(
                    "Questa richiamata è già presa da",
                    "This callback is already taken by"
                )
            ),
        )
        .into_response(),
        CallbackError::Closed => conflict(
            "Questa richiamata è già chiusa: il numero è stato cancellato.",
            "This callback is already closed: the number has been erased.",
        ),
        CallbackError::NotYours => conflict(
            "Prendi in carico la richiamata prima di vedere il numero o chiuderla.",
            "Take the callback before seeing the number or closing it.",
        ),
        CallbackError::Seal(e) => {
            tracing::error!(error = %e, "callback number cannot be opened");
            PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                lang.pick(
                    "Il numero non si può leggere (chiave cambiata?). Chiudi la richiamata.",
                    "The number cannot be read (key changed?). Close the callback.",
                ),
            )
            .into_response()
        }
        CallbackError::Db(e) => PageError::from_db(e, lang).into_response(),
    }
}

fn who(session: &Session) -> (i64, &str) {
    (session.user.id, session.user.username.as_str())
}

/// `GET /callbacks/{id}`
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    session: Session,
) -> Response {
    if let Err(e) = session.require(&CALLBACK_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let task = match callbacks::get(&state.db, id).await {
        Ok(t) => t,
        Err(e) => return error(e, lang),
    };
    let mine = task.closed.is_none()
        && task
            .claimed
            .as_ref()
            .is_some_and(|(by, _, _)| *by == session.user.id);
    let number = if mine {
        let seal = match NumberSeal::from_hasher(&state.hasher) {
            Ok(s) => s,
            Err(e) => return error(e.into(), lang),
        };
        let now = state.clock.now();
        match callbacks::reveal(
            &state.db,
            &seal,
            id,
            who(&session),
            Some(session.address.clone()),
            now,
        )
        .await
        {
            Ok(n) => Some(spaced(n.expose_secret())),
            Err(e) => return error(e, lang),
        }
    } else {
        None
    };
    let outcomes = Outcome::CHOSEN
        .into_iter()
        .map(|o| {
            let (it, en) = o.label();
            (o.as_str(), lang.pick(it, en))
        })
        .collect();
    render(&CallbackPage {
        chrome: Chrome::of(&session, "callback.title"),
        task,
        number,
        mine,
        outcomes,
    })
}

/// `POST /callbacks/{id}/claim`
pub async fn claim(State(state): State<AppState>, Path(id): Path<i64>, posted: Posted) -> Response {
    let session = posted.session;
    if let Err(e) = session.require(&CALLBACK_ROLES) {
        return e.into_response();
    }
    let now = state.clock.now();
    let take_over = session.is(&[Role::Supervisor]);
    let address = Some(session.address.clone());
    match callbacks::claim(&state.db, id, who(&session), take_over, address, now).await {
        Ok(()) => {
            state.board.poke();
            Redirect::to(&format!("/callbacks/{id}")).into_response()
        }
        Err(e) => error(e, session.lang),
    }
}

/// `POST /callbacks/{id}/close`: `outcome`.
pub async fn close(State(state): State<AppState>, Path(id): Path<i64>, posted: Posted) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&CALLBACK_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let Some(outcome) = Outcome::chosen(form.text("outcome")) else {
        return PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            lang.pick(
                "Scegli l'esito della richiamata.",
                "Choose the callback's outcome.",
            ),
        )
        .into_response();
    };
    let now = state.clock.now();
    match callbacks::close(
        &state.db,
        id,
        who(&session),
        outcome,
        Some(session.address.clone()),
        now,
    )
    .await
    {
        Ok(()) => {
            state.board.poke();
            Redirect::to("/board").into_response()
        }
        Err(e) => error(e, lang),
    }
}

/// `+390551234567` as people read it: `+39 055 1234567` for Italian numbers.
fn spaced(e164: &str) -> String {
    match e164.strip_prefix("+39") {
        Some(national) if national.starts_with('3') && national.len() == 10 => {
            format!(
                "+39 {} {} {}",
                &national[..3],
                &national[3..6],
                &national[6..]
            )
        }
        Some(national) if national.starts_with('0') && national.len() > 4 => {
            let area = if national.starts_with("02") || national.starts_with("06") {
                2
            } else {
                3
            };
            format!("+39 {} {}", &national[..area], &national[area..])
        }
        _ => e164.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::spaced;

    #[test]
    fn numbers_are_spaced_as_people_read_them() {
        assert_eq!(spaced("+390551234567"), "+39 055 1234567");
        assert_eq!(spaced("+39021234567"), "+39 02 1234567");
        assert_eq!(spaced("+393331234567"), "+39 333 123 4567");
        assert_eq!(spaced("+2348031234567"), "+2348031234567");
    }
}

//! What every console page shares: the layout's data (`Chrome`), rendering a template
//! into a response, and the console's error page (HTML, never a stack trace).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::session::Session;
use crate::auth::Role;
use crate::db::DbError;
use crate::web::i18n::Lang;

/// `at` on the Rome clock (the help-line's), in the chrono `format`.
pub fn rome_time(at: &chrono::DateTime<chrono::Utc>, format: &str) -> String {
    at.with_timezone(&crate::referral::rota::ROTA_TIME_ZONE)
        .format(format)
        .to_string()
}

/// The layout's data: language, who is signed in, which links to show.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Language of the page.
    pub lang: Lang,
    /// The signed-in user's name, if any.
    pub username: Option<String>,
    /// The user's role, if signed in.
    pub role: Option<Role>,
    /// The session's CSRF token (empty when signed out).
    pub csrf: String,
    /// Page title.
    pub title: String,
}

impl Chrome {
    /// For a signed-in page.
    pub fn of(session: &Session, title_key: &str) -> Self {
        Self {
            lang: session.lang,
            username: Some(session.user.username.clone()),
            role: Some(session.user.role),
            csrf: session.csrf.clone(),
            title: session.lang.t(title_key).to_string(),
        }
    }

    /// For a page without a session (sign-in, errors).
    pub fn anonymous(lang: Lang, title_key: &str) -> Self {
        Self {
            lang,
            username: None,
            role: None,
            csrf: String::new(),
            title: lang.t(title_key).to_string(),
        }
    }

    /// The console text for `key` in the page's language.
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// Picks the page's language from a bilingual pair.
    pub fn pick<'a>(&self, it: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(it, en)
    }

    /// Whether the user may see links for these roles.
    pub fn can(&self, roles: &[Role]) -> bool {
        self.role.is_some_and(|r| roles.contains(&r))
    }

    /// Whether the user supervises (audit log).
    pub fn supervises(&self) -> bool {
        self.can(&[Role::Supervisor, Role::Admin])
    }

    /// Whether the user is a territorial contact (no call board).
    pub fn is_contact(&self) -> bool {
        self.can(&[Role::Contact])
    }

    /// Whether the user runs intakes and mediations.
    pub fn takes_calls(&self) -> bool {
        self.can(&[Role::Operator, Role::Supervisor])
    }

    /// Whether the user reads the statistics.
    pub fn reads_stats(&self) -> bool {
        self.can(&super::stats_page::STATS_ROLES)
    }

    /// Whether the user administers users.
    pub fn administers(&self) -> bool {
        self.can(&[Role::Admin])
    }
}

/// Renders a template; a template that fails to render is logged and shown as 500.
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; it has been logged",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage<'a> {
    chrome: Chrome,
    message: &'a str,
}

/// A page that only says something (to someone without a session, e.g. after an
/// acknowledgement link).
pub fn notice(lang: Lang, message: &str) -> Response {
    render(&NoticePage {
        chrome: Chrome::anonymous(lang, "common.done"),
        message,
    })
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    message: &'a str,
}

/// A console error, shown as a page in the user's language.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    lang: Lang,
    message: String,
}

impl PageError {
    /// Any status with a message already in the page's language.
    pub fn new(status: StatusCode, lang: Lang, message: impl Into<String>) -> Self {
        Self {
            status,
            lang,
            message: message.into(),
        }
    }

    /// 403.
    pub fn forbidden(lang: Lang) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            lang,
            lang.pick(
                "Non hai il permesso di vedere questa pagina.",
                "You are not allowed to see this page.",
            ),
        )
    }

    /// 404.
    pub fn not_found(lang: Lang) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            lang,
            lang.pick("Pagina o scheda inesistente.", "No such page or record."),
        )
    }

    /// 403 for a form without the session's CSRF token.
    pub fn csrf(lang: Lang) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            lang,
            lang.pick(
                "Il modulo è scaduto o non viene da questa console: ricarica la pagina e riprova.",
                "The form has expired or did not come from this console: reload the page and try again.",
            ),
        )
    }

    /// 400 for a form that cannot be read.
    pub fn bad_form(lang: Lang) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            lang,
            lang.pick(
                "Il modulo inviato non è leggibile.",
                "The form sent cannot be read.",
            ),
        )
    }

    /// A storage failure: 503 when the database is unreachable, else 500; logged here.
    pub fn from_db(e: DbError, lang: Lang) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable for a console page");
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                lang.pick(
                    "Il database non risponde. Riprova tra poco; se continua, avvisa il supervisore.",
                    "The database is not answering. Try again shortly; if it goes on, tell the supervisor.",
                ),
            )
        } else {
            tracing::error!(error = %e, "storage error on a console page");
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                lang.pick(
                    "Errore interno: è stato registrato. Nessun dato inviato è andato perso se la pagina lo conferma.",
                    "Internal error; it has been logged.",
                ),
            )
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            chrome: Chrome::anonymous(self.lang, "common.error"),
            status: self.status.as_u16(),
            message: &self.message,
        };
        (self.status, render(&page)).into_response()
    }
}

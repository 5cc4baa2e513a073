//! Posted forms: `application/x-www-form-urlencoded` bodies read as ordered pairs (a
//! multiple choice arrives as repeated names), and the CSRF check every console form
//! passes before anything is done with it.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::page::PageError;
use super::session::Session;
use crate::app::AppState;
use crate::web::i18n::Lang;

/// A posted form's fields in order.
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// Parses a URL-encoded body.
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, or "".
    pub fn text(&self, name: &str) -> &str {
        self.get(name).map(str::trim).unwrap_or("")
    }
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
        && !b.is_empty()
}

/// A form posted by a signed-in user, its CSRF token checked.
pub struct Posted {
    /// The session.
    pub session: Session,
    /// The fields.
    pub form: FormData,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let form = read_form(Request::from_parts(parts, body), state, session.lang).await?;
        if !same_token(form.text("csrf"), &session.csrf) {
            tracing::warn!(user = %session.user.username, "form refused: CSRF token missing or wrong");
            return Err(PageError::csrf(session.lang).into_response());
        }
        Ok(Posted { session, form })
    }
}

/// Reads a URL-encoded form body (any other type is refused with 400).
pub async fn read_form(req: Request, state: &AppState, lang: Lang) -> Result<FormData, Response> {
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(PageError::bad_form(lang).into_response());
    }
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|_| PageError::bad_form(lang).into_response())?;
    Ok(FormData::parse(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_keep_every_value_in_order() {
        let f = FormData::parse(b"needs=health&needs=legal&notes=a+b%21&csrf=x");
        assert_eq!(f.get("needs"), Some("health"));
        assert_eq!(f.0.iter().filter(|(k, _)| k == "needs").count(), 2);
        assert_eq!(f.text("notes"), "a b!");
    }

    #[test]
    fn an_empty_token_never_matches() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("", ""));
    }
}

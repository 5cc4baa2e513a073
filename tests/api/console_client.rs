//! A browser-like HTTP client for the console: a cookie jar, no automatic redirects
//! (tests check where each answer leads), and the CSRF token read from each form.

use reqwest::redirect::Policy;
use reqwest::{Client, Response};

use crate::helpers::TestApp;

/// The password every test user has.
pub const PASSWORD: &str = "a long enough password";

pub struct Console {
    pub client: Client,
    pub base: String,
}

/// The value of the first `name="csrf"` hidden field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("closing quote")].to_string()
}

impl Console {
    pub fn new(app: &TestApp) -> Self {
        Self {
            client: Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .expect("client"),
            base: app.base.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    /// Posts a form with the CSRF token of the page at `page`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let (_, html) = self.get_text(page).await;
        let csrf = csrf_of(&html);
        let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        all.extend_from_slice(fields);
        self.post_form(action, &all).await
    }

    /// Posts one intake step's answers with the page's CSRF token and version.
    pub async fn step(&self, intake: &str, step: &str, fields: &[(&str, &str)]) -> Response {
        let (status, html) = self.get_text(&format!("{intake}?step={step}")).await;
        assert_eq!(status, 200, "{html}");
        let csrf = csrf_of(&html);
        let version = version_of(&html);
        let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf), ("version", &version)];
        all.extend_from_slice(fields);
        self.post_form(&format!("{intake}/steps/{step}"), &all)
            .await
    }

    /// Like [`Console::step`], and the step must be saved (303).
    pub async fn saved_step(&self, intake: &str, step: &str, fields: &[(&str, &str)]) {
        let r = self.step(intake, step, fields).await;
        let status = r.status().as_u16();
        assert_eq!(
            status,
            303,
            "{step}: {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// Signs in; returns the answer to the sign-in form.
    pub async fn sign_in(&self, username: &str, password: &str) -> Response {
        self.submit(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
        )
        .await
    }
}

/// The value of the first `name="version"` hidden field of a page.
pub fn version_of(html: &str) -> String {
    let at = html
        .find("name=\"version\" value=\"")
        .expect("a form with a version")
        + 22;
    html[at..]
        .split('"')
        .next()
        .expect("closing quote")
        .to_string()
}

/// Where a redirect leads.
pub fn location(r: &Response) -> &str {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

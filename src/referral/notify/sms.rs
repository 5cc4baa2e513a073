//! SMS through a Twilio-compatible REST API:
//! `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic auth
//! (SID and auth token) and the form fields `To`, `From`, `Body`, `StatusCallback`.
//!
//! The provider's verdict decides retries: a 4xx (bad credentials, invalid number, body
//! too long) is permanent, a 5xx, a 429 or no answer at all is temporary.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::config::SmsConfig;
use super::status::DeliveryStatus;
use super::NotifyError;

/// Sends SMS through the configured provider. Cheap to clone.
#[derive(Clone)]
pub struct SmsClient {
    http: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: SecretString,
    from: String,
    status_callback_url: Option<String>,
}

impl std::fmt::Debug for SmsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsClient")
            .field("messages_url", &self.messages_url)
            .finish_non_exhaustive()
    }
}

/// A message the provider accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsSent {
    /// The provider's id of the message (`SM…`); status callbacks name it as `MessageSid`.
    pub sid: String,
    /// Its status when accepted, usually `queued`.
    pub status: DeliveryStatus,
}

/// The part of the provider's message resource we read.
#[derive(Deserialize)]
struct MessageResource {
    sid: String,
    status: String,
}

/// The provider's error body: `{"code": 21211, "message": "...", "status": 400}`.
#[derive(Deserialize)]
struct ProviderError {
    code: Option<u32>,
}

impl SmsClient {
    /// Builds the client from `[notify.sms]` (the `enabled` flag is the caller's business).
    pub fn new(cfg: &SmsConfig) -> Result<Self, NotifyError> {
        let auth_token = cfg
            .auth_token
            .clone()
            .ok_or_else(|| NotifyError::Config("notify.sms.auth_token is not set".into()))?;
        // The SID goes into the path: letters and digits only, so it cannot change it.
        if cfg.account_sid.is_empty() || !cfg.account_sid.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(NotifyError::Config(
                "notify.sms.account_sid is not valid".into(),
            ));
        }
        let base = cfg.base_url.trim_end_matches('/');
        let messages_url = format!(
            "{base}/2010-04-01/Accounts/{}/Messages.json",
            cfg.account_sid
        );
        reqwest::Url::parse(&messages_url)
            .map_err(|_| NotifyError::Config("notify.sms.base_url is not a URL".into()))?;
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout())
            .connect_timeout(cfg.timeout().min(Duration::from_secs(10)))
            // Credentials must never follow a redirect to another place.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("helpline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            messages_url,
            account_sid: cfg.account_sid.clone(),
            auth_token,
            from: cfg.from.clone(),
            status_callback_url: cfg.status_callback_url.clone(),
        })
    }

    /// Sends `body` to `to` (E.164, e.g. `+393331234567`; spaces and dashes as people
    /// write numbers are dropped). On success the provider has
    /// queued the message; its delivery is reported later to `status_callback_url`.
    ///
    /// The provider keeps no idempotency key for messages: call this again only after an
    /// error, never after a success.
    #[tracing::instrument(name = "notify.sms", skip_all)]
    pub async fn send(&self, to: &str, body: &str) -> Result<SmsSent, NotifyError> {
        // Numbers are written for people ("+39 300 000 0101"); the provider wants E.164.
        let to: String = to
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        let mut form: Vec<(&str, &str)> = vec![("To", &to), ("From", &self.from), ("Body", body)];
        if let Some(url) = &self.status_callback_url {
            form.push(("StatusCallback", url));
        }
        let result = self
            .http
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&form)
            .send()
            .await;
        let outcome = match result {
            Ok(response) => read_answer(response).await,
            Err(e) => Err(request_error(e)),
        };
        match &outcome {
            Ok(sent) => {
                tracing::info!(destination = "sms", sid = %sent.sid, status = %sent.status, "SMS accepted by the provider");
            }
            Err(err) => tracing::warn!(destination = "sms", error = %err, "SMS not sent"),
        }
        outcome
    }
}

async fn read_answer(response: reqwest::Response) -> Result<SmsSent, NotifyError> {
    let status = response.status();
    let text = response.text().await.map_err(request_error)?;
    if status.is_success() {
        // An unreadable success is retried: a duplicate SMS is better than a lost referral.
        let m: MessageResource = serde_json::from_str(&text).map_err(|_| {
            NotifyError::temporary(format!(
                "SMS provider answered {status} with an unreadable body"
            ))
        })?;
        return Ok(SmsSent {
            sid: m.sid,
            status: DeliveryStatus::parse(&m.status),
        });
    }
    // The provider's own `message` is left out: it can repeat the phone number.
    let code = serde_json::from_str::<ProviderError>(&text)
        .ok()
        .and_then(|e| e.code);
    let code_text = code.map_or_else(String::new, |c| format!(", code {c}"));
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        Err(NotifyError::temporary(format!(
            "SMS provider answered HTTP {}{code_text}",
            status.as_u16()
        )))
    } else {
        Err(NotifyError::permanent(
            format!(
                "SMS provider refused the message (HTTP {}{code_text})",
                status.as_u16()
            ),
            code,
        ))
    }
}

fn request_error(e: reqwest::Error) -> NotifyError {
    let e = e.without_url();
    if e.is_builder() {
        NotifyError::permanent(format!("SMS request cannot be built: {e}"), None)
    } else if e.is_timeout() {
        NotifyError::temporary("SMS provider timed out")
    } else if e.is_connect() {
        NotifyError::temporary("SMS provider unreachable")
    } else {
        NotifyError::temporary(format!("SMS request failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_needs_a_token_and_a_plain_sid() {
        let mut cfg = SmsConfig {
            enabled: true,
            base_url: "https://api.twilio.com/".into(),
            account_sid: "AC123".into(),
            auth_token: None,
            from: "+390550000000".into(),
            status_callback_url: None,
            inbound_url: None,
            timeout_ms: 1000,
        };
        assert!(matches!(SmsClient::new(&cfg), Err(NotifyError::Config(_))));
        cfg.auth_token = Some("t".to_string().into());
        let client = SmsClient::new(&cfg).unwrap();
        assert_eq!(
            client.messages_url,
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
        );
        cfg.account_sid = "AC1/../x".into();
        assert!(matches!(SmsClient::new(&cfg), Err(NotifyError::Config(_))));
    }
}

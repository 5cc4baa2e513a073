//! `[notify]`, `[notify.email]` and `[notify.sms]`: how referrals reach on-call contacts.
//!
//! The types live here, next to the transports that read them; `crate::config::Config`
//! holds them as its `notify` field, so `HELPLINE__NOTIFY__SMS__AUTH_TOKEN` and the like
//! override them as any other key.

use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::ConfigError;

/// `[notify]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// E-mail over SMTP.
    pub email: EmailConfig,
    /// SMS through a Twilio-compatible REST API.
    pub sms: SmsConfig,
}

/// `[notify.email]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Referrals are sent by e-mail only when true; the other keys are checked only then.
    pub enabled: bool,
    /// SMTP server (name or address).
    pub host: String,
    /// SMTP port: usually 25 (plain), 587 (STARTTLS) or 465 (TLS).
    pub port: u16,
    /// How the connection is protected.
    pub security: EmailSecurity,
    /// SMTP user, when the server wants authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP password, with `username`.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// The sender, e.g. `Numero Verde Anti-Tratta <noreply@example.org>`; its domain also
    /// ends every `Message-ID`.
    pub from: String,
    /// Longest time one SMTP command may take.
    pub timeout_ms: u64,
}

/// How an SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailSecurity {
    /// No encryption at all (a relay on the same host or network only).
    Plain,
    /// Plain connection upgraded with STARTTLS, which is then required.
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// `[notify.sms]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// Referrals are sent by SMS only when true; the other keys are checked only then.
    pub enabled: bool,
    /// Base URL of the Twilio-compatible API; another provider speaking the same API
    /// (or a test double) is used by changing it.
    pub base_url: String,
    /// Account SID, also the basic-auth user.
    pub account_sid: String,
    /// Auth token: the basic-auth password, and the key of `X-Twilio-Signature`.
    #[serde(default)]
    pub auth_token: Option<SecretString>,
    /// Sender: an E.164 number (`+39…`) or an alphanumeric sender ID (up to 11 characters).
    #[serde(deserialize_with = "sender")]
    pub from: String,
    /// Public URL of our delivery-status webhook, sent as `StatusCallback`; none when unset.
    #[serde(default)]
    pub status_callback_url: Option<String>,
    /// Public URL of our inbound-SMS webhook exactly as configured at the provider: the
    /// provider signs requests with it, so signatures are checked against it.
    #[serde(default)]
    pub inbound_url: Option<String>,
    /// Longest time one API request may take.
    pub timeout_ms: u64,
}

/// Reads the sender as text. An environment value such as `+390550000000` arrives here as
/// a number (it looks like one), its `+` gone: a number can only have been an E.164 one,
/// so the `+` is put back.
fn sender<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Sender {
        Text(String),
        Number(u64),
    }
    Ok(match Sender::deserialize(d)? {
        Sender::Text(s) => s,
        Sender::Number(n) => format!("+{n}"),
    })
}

impl EmailConfig {
    /// The SMTP timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

impl SmsConfig {
    /// The API request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

fn invalid(key: &str, expected: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid(format!("configuration: key `{key}`: {expected}"))
}

impl NotifyConfig {
    /// Checks values that types alone cannot; a disabled channel is not checked, so the
    /// defaults start without any mail server or SMS account.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.email.enabled {
            self.email.validate()?;
        }
        if self.sms.enabled {
            self.sms.validate()?;
        }
        Ok(())
    }
}

impl EmailConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.host.trim().is_empty() {
            return Err(invalid("notify.email.host", "expected a host name"));
        }
        if self.port == 0 {
            return Err(invalid("notify.email.port", "expected 1 to 65535"));
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "notify.email.from",
                "expected an address, e.g. \"Numero Verde <noreply@example.org>\"",
            ));
        }
        match (&self.username, &self.password) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid(
                    "notify.email.username",
                    "expected both username and password, or neither",
                ))
            }
            (Some(_), Some(_))
                if self.security == EmailSecurity::Plain && !is_loopback(&self.host) =>
            {
                // The password would cross the network in clear.
                return Err(invalid(
                    "notify.email.security",
                    "\"plain\" with a password is allowed only to a server on this host; expected \"starttls\" or \"tls\"",
                ));
            }
            _ => {}
        }
        check_timeout("notify.email.timeout_ms", self.timeout_ms)
    }
}

impl SmsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        check_url("notify.sms.base_url", &self.base_url)?;
        if self.account_sid.is_empty()
            || !self.account_sid.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(invalid(
                "notify.sms.account_sid",
                "expected the account SID, letters and digits only",
            ));
        }
        if self
            .auth_token
            .as_ref()
            .is_none_or(|t| t.expose_secret().is_empty())
        {
            return Err(invalid(
                "notify.sms.auth_token",
                "expected the auth token (e.g. from HELPLINE__NOTIFY__SMS__AUTH_TOKEN)",
            ));
        }
        if !is_e164(&self.from) && !is_alphanumeric_sender(&self.from) {
            return Err(invalid(
                "notify.sms.from",
                "expected an E.164 number such as \"+390550000000\" or a sender ID of up to 11 letters and digits",
            ));
        }
        if let Some(url) = &self.status_callback_url {
            check_url("notify.sms.status_callback_url", url)?;
        }
        if let Some(url) = &self.inbound_url {
            check_url("notify.sms.inbound_url", url)?;
        }
        check_timeout("notify.sms.timeout_ms", self.timeout_ms)
    }
}

/// `+` then 8 to 15 digits, the first not 0: the form the provider accepts.
pub fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

fn is_alphanumeric_sender(from: &str) -> bool {
    (1..=11).contains(&from.len())
        && from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && from.bytes().any(|b| b.is_ascii_alphabetic())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(invalid(key, format!("`{url}` is not an http(s) URL"))),
    }
}

fn check_timeout(key: &str, ms: u64) -> Result<(), ConfigError> {
    if (1..=600_000).contains(&ms) {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("{ms} is out of range; expected 1 to 600000"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.toml");
        std::fs::write(&p, toml).unwrap();
        let mut vars = vec![("HELPLINE_CONFIG".to_string(), p.display().to_string())];
        vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Config::load_from(&vars)
    }

    const SMS_ON: &str =
        "[notify.sms]\nenabled = true\naccount_sid = \"AC0123\"\nfrom = \"+390550000000\"\n";

    #[test]
    fn the_defaults_load_with_both_channels_off() {
        let cfg = load("", &[]).unwrap();
        assert!(!cfg.notify.email.enabled && !cfg.notify.sms.enabled);
        assert_eq!(cfg.notify.sms.base_url, "https://api.twilio.com");
        assert_eq!(cfg.notify.email.security, EmailSecurity::Starttls);
    }

    #[test]
    fn every_security_value_parses_and_others_are_refused() {
        for (text, want) in [
            ("plain", EmailSecurity::Plain),
            ("starttls", EmailSecurity::Starttls),
            ("tls", EmailSecurity::Tls),
        ] {
            let cfg = load(&format!("[notify.email]\nsecurity = \"{text}\"\n"), &[]).unwrap();
            assert_eq!(cfg.notify.email.security, want);
        }
        let err = load("[notify.email]\nsecurity = \"ssl\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("notify.email.security"), "{err}");
    }

    #[test]
    fn the_auth_token_comes_from_the_environment() {
        let cfg = load(SMS_ON, &[("HELPLINE__NOTIFY__SMS__AUTH_TOKEN", "f00dcafe")]).unwrap();
        let token = cfg.notify.sms.auth_token.unwrap();
        assert_eq!(token.expose_secret(), "f00dcafe");
    }

    #[test]
    fn a_sender_number_from_the_environment_keeps_its_plus() {
        let cfg = load(
            SMS_ON,
            &[
                ("HELPLINE__NOTIFY__SMS__AUTH_TOKEN", "x1"),
                ("HELPLINE__NOTIFY__SMS__FROM", "+390550000001"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.notify.sms.from, "+390550000001");
    }

    #[test]
    fn an_enabled_sms_channel_without_a_token_is_refused() {
        let err = load(SMS_ON, &[]).unwrap_err().to_string();
        assert!(err.contains("notify.sms.auth_token"), "{err}");
    }

    #[test]
    fn a_sender_that_is_neither_a_number_nor_an_id_is_refused() {
        let toml = SMS_ON.replace("+390550000000", "0039 055");
        let err = load(&toml, &[("HELPLINE__NOTIFY__SMS__AUTH_TOKEN", "x1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("notify.sms.from"), "{err}");
    }

    #[test]
    fn a_password_over_plain_smtp_to_another_host_is_refused() {
        let toml = "[notify.email]\nenabled = true\nhost = \"smtp.example.org\"\nsecurity = \"plain\"\nusername = \"u\"\npassword = \"p\"\n";
        let err = load(toml, &[]).unwrap_err().to_string();
        assert!(err.contains("notify.email.security"), "{err}");
        let local = toml.replace("smtp.example.org", "127.0.0.1");
        load(&local, &[]).unwrap();
    }

    #[test]
    fn e164_numbers_are_recognised() {
        assert!(is_e164("+390550000000"));
        assert!(is_e164("+14155550100"));
        assert!(!is_e164("390550000000"));
        assert!(!is_e164("+39 055 000"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("+0123456789"));
    }
}

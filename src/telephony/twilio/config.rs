//! `[twilio]`: numbers hosted at a Twilio-compatible provider. The provider calls the
//! webhooks under `/telephony/twilio/` at `http.public_url`, signing each request with the
//! account's auth token; the operators are reached at the targets configured here.

use secrecy::SecretString;
use serde::Deserialize;

use super::twiml::Target;

/// `[twilio]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// Whether the webhooks answer (off: 404, as if they did not exist).
    #[serde(default)]
    pub enabled: bool,
    /// The account's auth token: the key of `X-Twilio-Signature`
    /// (`HELPLINE__TWILIO__AUTH_TOKEN`).
    #[serde(default)]
    pub auth_token: Option<SecretString>,
    /// How long the available operators are rung together.
    #[serde(default = "ring")]
    pub ring_timeout_seconds: u32,
    /// After the menu, how long those who speak the caller's language ring before the
    /// others do.
    #[serde(default = "hunt")]
    pub hunt_seconds: u32,
    /// How long the on-call mobile rings.
    #[serde(default = "mobile")]
    pub mobile_ring_seconds: u32,
    /// Where each operator is rung through the provider.
    #[serde(default)]
    pub operators: Vec<OperatorTarget>,
}

fn ring() -> u32 {
    20
}

fn hunt() -> u32 {
    8
}

fn mobile() -> u32 {
    30
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            auth_token: None,
            ring_timeout_seconds: ring(),
            hunt_seconds: hunt(),
            mobile_ring_seconds: mobile(),
            operators: Vec::new(),
        }
    }
}

/// An operator's device at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorTarget {
    /// The operator's user name.
    pub user: String,
    /// `client:IDENTITY` (the provider's app or browser client), a SIP URI
    /// (`sip:anna@pbx.example.org`), or a phone number (`+39…`).
    pub target: String,
}

impl OperatorTarget {
    /// The target read, or what is wrong with it.
    pub fn target(&self) -> Result<Target, String> {
        let t = self.target.trim();
        if let Some(identity) = t.strip_prefix("client:") {
            let ok = !identity.is_empty()
                && identity
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            return ok
                .then(|| Target::Client(identity.to_string()))
                .ok_or_else(|| format!("`{t}`: a client identity is letters, digits, _ - ."));
        }
        if t.starts_with("sip:") || t.starts_with("sips:") {
            return (t.contains('@') && !t.contains(char::is_whitespace))
                .then(|| Target::Sip(t.to_string()))
                .ok_or_else(|| {
                    format!("`{t}`: expected a SIP URI such as sip:anna@pbx.example.org")
                });
        }
        match crate::calls::caller::e164(t) {
            Ok(Some(number)) => Ok(Target::Number(number)),
            _ => Err(format!(
                "`{t}`: expected client:IDENTITY, a SIP URI or a phone number"
            )),
        }
    }
}

impl TwilioConfig {
    /// Checks what the service cannot run without when the webhooks are on; the key at
    /// fault and why.
    pub fn validate(&self, public_url: &str) -> Result<(), (String, String)> {
        for (i, o) in self.operators.iter().enumerate() {
            o.target()
                .map_err(|why| (format!("twilio.operators[{i}].target"), why))?;
        }
        if !self.enabled {
            return Ok(());
        }
        let token = self
            .auth_token
            .as_ref()
            .map(|t| secrecy::ExposeSecret::expose_secret(t).len())
            .unwrap_or(0);
        if token < 16 {
            return Err((
                "twilio.auth_token".into(),
                "expected the account's auth token (HELPLINE__TWILIO__AUTH_TOKEN) when twilio.enabled is true".into(),
            ));
        }
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err((
                "http.public_url".into(),
                "expected the address the provider calls (HELPLINE_PUBLIC_URL), e.g. https://helpline.example.org, when twilio.enabled is true".into(),
            ));
        }
        if self.ring_timeout_seconds == 0 || self.mobile_ring_seconds == 0 || self.hunt_seconds == 0
        {
            return Err((
                "twilio.ring_timeout_seconds".into(),
                "ring times must be at least 1 second".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(target: &str) -> OperatorTarget {
        OperatorTarget {
            user: "anna".into(),
            target: target.into(),
        }
    }

    #[test]
    fn targets_are_clients_sip_uris_or_numbers() {
        assert_eq!(
            op("client:anna").target(),
            Ok(Target::Client("anna".into()))
        );
        assert_eq!(
            op("sip:anna@pbx.example.org").target(),
            Ok(Target::Sip("sip:anna@pbx.example.org".into()))
        );
        assert_eq!(
            op("+39 333 123 4567").target(),
            Ok(Target::Number("+393331234567".into()))
        );
        for bad in ["client:", "client:a b", "sip:nobody", "anna", ""] {
            assert!(op(bad).target().is_err(), "{bad}");
        }
    }

    #[test]
    fn on_it_needs_a_token_and_the_public_url() {
        let mut c = TwilioConfig {
            enabled: true,
            ..Default::default()
        };
        assert_eq!(
            c.validate("https://h.example").unwrap_err().0,
            "twilio.auth_token"
        );
        c.auth_token = Some(SecretString::from("0123456789abcdef0123"));
        assert_eq!(c.validate("").unwrap_err().0, "http.public_url");
        assert!(c.validate("https://h.example").is_ok());
        c.operators.push(op("nonsense"));
        assert_eq!(
            c.validate("https://h.example").unwrap_err().0,
            "twilio.operators[0].target"
        );
    }
}

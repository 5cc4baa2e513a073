//! E-mail over SMTP: plain, STARTTLS or TLS by `notify.email.security`, rustls for
//! encryption. Connections are kept open and reused (lettre's pool): opening one costs
//! a TCP connect, a greeting, EHLO, perhaps a TLS handshake and AUTH, several times the
//! message itself, and an escalation step sends many messages at once. A kept
//! connection is checked (NOOP) before each reuse and replaced when the server has
//! dropped it, so a restarted server costs one new connection, not a failed message.
//!
//! Every message carries a `Message-ID` derived from the caller's idempotency key, so a
//! message sent twice (a job retried after a crash) is recognisable as the same one by the
//! recipient's mail system and by anyone reading both.

use std::fmt::Write as _;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::config::{EmailConfig, EmailSecurity};
use super::NotifyError;

/// Connections kept open for reuse: as many as the job workers send at once by default.
const IDLE_CONNECTIONS: u32 = 16;

/// Sends e-mail through the configured SMTP server. Cheap to clone (clones share the
/// connections).
#[derive(Clone)]
pub struct Emailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    id_domain: String,
}

impl std::fmt::Debug for Emailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emailer")
            .field("id_domain", &self.id_domain)
            .finish_non_exhaustive()
    }
}

impl Emailer {
    /// Builds the transport from `[notify.email]` (the `enabled` flag is the caller's
    /// business). Nothing is connected until the first [`send`](Self::send). Call it
    /// inside a Tokio runtime: the pool starts its task that closes idle connections.
    pub fn new(cfg: &EmailConfig) -> Result<Self, NotifyError> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|_| NotifyError::Config("notify.email.from is not an address".into()))?;
        let id_domain = from.email.domain().to_string();
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str())
                .port(cfg.port)
                .timeout(Some(cfg.timeout()))
                // Up to IDLE_CONNECTIONS stay open between bursts, closed after a minute
                // unused (servers drop idle clients after a few minutes anyway); more
                // are opened when more messages go out at once.
                .pool_config(
                    PoolConfig::new()
                        .max_size(IDLE_CONNECTIONS)
                        .idle_timeout(std::time::Duration::from_secs(60)),
                );
        if cfg.security != EmailSecurity::Plain {
            let params = TlsParameters::new(cfg.host.clone()).map_err(|e| {
                NotifyError::Config(format!("TLS parameters for notify.email.host: {e}"))
            })?;
            builder = builder.tls(match cfg.security {
                EmailSecurity::Tls => Tls::Wrapper(params),
                // Required, not opportunistic: a server that does not offer STARTTLS
                // must not get the message in clear.
                _ => Tls::Required(params),
            });
        }
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            id_domain,
        })
    }

    /// The `Message-ID` a message sent with this idempotency key carries, e.g.
    /// `<helpline.referral-42-contact-7@example.org>`. Characters other than letters,
    /// digits, `-` and `_` are written as `=XX`, so different keys never share an id.
    pub fn message_id_for(&self, idempotency_key: &str) -> String {
        let mut id = String::from("<helpline.");
        for b in idempotency_key.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                id.push(char::from(b));
            } else {
                let _ = write!(id, "={b:02X}");
            }
        }
        let _ = write!(id, "@{}>", self.id_domain);
        id
    }

    /// Sends one plain-text UTF-8 message to `to`. `message_id` is the idempotency key
    /// (e.g. the job's key): the same key always gives the same `Message-ID`. It must hold
    /// no personal data, as it is logged.
    ///
    /// Fails with [`NotifyError::Permanent`] when the address is invalid or the server
    /// refuses for good (5xx), and with [`NotifyError::Temporary`] when the server is down,
    /// slow, defers (4xx), lacks STARTTLS when it is required, or the TLS handshake fails.
    #[tracing::instrument(name = "notify.email", skip_all, fields(idempotency_key = %message_id))]
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body_text: &str,
        message_id: &str,
    ) -> Result<(), NotifyError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| NotifyError::permanent("the recipient address is not valid", None))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(self.message_id_for(message_id)))
            .header(ContentType::TEXT_PLAIN)
            .body(body_text.to_string())
            .map_err(|e| {
                NotifyError::permanent(format!("the message cannot be built: {e}"), None)
            })?;
        match self.transport.send(message).await {
            Ok(_) => {
                tracing::info!(destination = "email", "e-mail accepted by the SMTP server");
                Ok(())
            }
            Err(e) => {
                let err = classify(&e);
                tracing::warn!(destination = "email", error = %err, "e-mail not sent");
                Err(err)
            }
        }
    }
}

/// Maps an SMTP failure to permanent or temporary, keeping the server's reply text out:
/// it may repeat the recipient's address.
fn classify(e: &lettre::transport::smtp::Error) -> NotifyError {
    let code = e.status().map(|c| c.to_string());
    if e.is_permanent() {
        let provider_code = code.as_deref().and_then(|c| c.parse().ok());
        return NotifyError::permanent(
            format!("SMTP server refused ({})", code.as_deref().unwrap_or("5xx")),
            provider_code,
        );
    }
    if e.is_transient() {
        return NotifyError::temporary(format!(
            "SMTP server deferred ({})",
            code.as_deref().unwrap_or("4xx")
        ));
    }
    if e.is_timeout() {
        return NotifyError::temporary("SMTP server timed out");
    }
    if e.is_tls() {
        return NotifyError::temporary("TLS with the SMTP server failed");
    }
    if e.is_client() {
        // The server lacks what the configuration demands (STARTTLS, a usable AUTH
        // mechanism): fixable on its side, or a downgrade on the path that may not last,
        // so worth a retry. lettre's text for these is fixed and holds no address.
        return NotifyError::temporary(format!("SMTP server not usable as configured: {e}"));
    }
    // Connection refused, reset, name not resolved...: the io error says which, and
    // carries no personal data.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return NotifyError::temporary(format!("SMTP server unreachable: {io}"));
        }
        source = s.source();
    }
    NotifyError::temporary("SMTP exchange failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emailer() -> Emailer {
        let cfg = EmailConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 25,
            security: EmailSecurity::Plain,
            username: None,
            password: None,
            from: "Numero Verde <noreply@helpline.example>".into(),
            timeout_ms: 1000,
        };
        Emailer::new(&cfg).unwrap()
    }

    #[tokio::test]
    async fn the_message_id_is_stable_and_uses_the_senders_domain() {
        let e = emailer();
        let id = e.message_id_for("referral-42_contact-7");
        assert_eq!(id, "<helpline.referral-42_contact-7@helpline.example>");
        assert_eq!(id, e.message_id_for("referral-42_contact-7"));
    }

    #[tokio::test]
    async fn keys_that_differ_only_in_special_characters_get_different_ids() {
        let e = emailer();
        assert_eq!(e.message_id_for("a.b"), "<helpline.a=2Eb@helpline.example>");
        assert_ne!(e.message_id_for("a b"), e.message_id_for("a=20b"));
        assert_ne!(e.message_id_for("a/b"), e.message_id_for("a:b"));
    }

    #[tokio::test]
    async fn every_security_mode_builds_a_transport() {
        for security in [
            EmailSecurity::Plain,
            EmailSecurity::Starttls,
            EmailSecurity::Tls,
        ] {
            let cfg = EmailConfig {
                enabled: true,
                host: "smtp.example.org".into(),
                port: 587,
                security,
                username: Some("u".into()),
                password: Some("p".to_string().into()),
                from: "noreply@example.org".into(),
                timeout_ms: 1000,
            };
            Emailer::new(&cfg).unwrap();
        }
    }
}

//! The notification transports against real counterparts: e-mail to a real SMTP server
//! (aiosmtpd), SMS to a fake provider as strict as the real API, and the provider's
//! webhook signatures with its published vectors.

use std::time::Duration;

use helpline::config::Config;
use helpline::referral::notify::{
    form_params, signature, EmailConfig, EmailSecurity, Emailer, InboundSms, NotifyError,
    SmsClient, SmsConfig,
};

use crate::support::free_port;
use crate::support::sms_provider::FakeSmsProvider;
use crate::support::smtp::SmtpServer;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dcafef00dcafef00dcafef00dcafe";
const SENDER: &str = "+390550000000";
const CONTACT: &str = "+393331234567";

fn email_config(port: u16, security: EmailSecurity) -> EmailConfig {
    EmailConfig {
        enabled: true,
        host: "127.0.0.1".into(),
        port,
        security,
        username: None,
        password: None,
        from: "Numero Verde Anti-Tratta <noreply@helpline.example>".into(),
        timeout_ms: 5000,
    }
}

fn sms_config(base_url: &str, token: &str) -> SmsConfig {
    SmsConfig {
        enabled: true,
        base_url: base_url.into(),
        account_sid: SID.into(),
        auth_token: Some(token.to_string().into()),
        from: SENDER.into(),
        status_callback_url: Some("https://helpline.example/referrals/sms/status".into()),
        inbound_url: None,
        timeout_ms: 5000,
    }
}

#[tokio::test]
async fn a_referral_email_reaches_the_smtp_server_once_with_its_message_id() {
    let server = SmtpServer::start().await;
    let emailer = Emailer::new(&email_config(server.port(), EmailSecurity::Plain)).unwrap();
    let body = "Segnalazione P1 (emergenza) — territorio: Pisa.\nRispondere OK 4821.";
    emailer
        .send(
            "reperibile.pisa@example.org",
            "Segnalazione urgente",
            body,
            "referral-42-contact-7",
        )
        .await
        .unwrap();

    let mail = server.wait_for_messages(1).await;
    assert_eq!(mail.len(), 1, "received exactly once");
    let mail = &mail[0];
    assert_eq!(
        mail.header("Message-ID"),
        Some("<helpline.referral-42-contact-7@helpline.example>")
    );
    assert_eq!(mail.header("Subject"), Some("Segnalazione urgente"));
    assert_eq!(mail.header("To"), Some("reperibile.pisa@example.org"));
    assert_eq!(mail.header("X-RcptTo"), Some("reperibile.pisa@example.org"));
    assert!(mail
        .header("From")
        .unwrap()
        .contains("noreply@helpline.example"));
    assert_eq!(mail.body.trim_end(), body);
}

#[tokio::test]
async fn an_email_sent_again_with_the_same_key_carries_the_same_message_id() {
    let server = SmtpServer::start().await;
    let emailer = Emailer::new(&email_config(server.port(), EmailSecurity::Plain)).unwrap();
    for _ in 0..2 {
        let sent = emailer
            .send("a@example.org", "Segnalazione", "testo", "job-9")
            .await;
        sent.unwrap();
    }
    let mail = server.wait_for_messages(2).await;
    assert_eq!(mail.len(), 2);
    assert_eq!(mail[0].header("Message-ID"), mail[1].header("Message-ID"));
}

#[tokio::test]
async fn after_the_smtp_server_restarts_the_next_email_arrives_once() {
    let server = SmtpServer::start().await;
    let port = server.port();
    let emailer = Emailer::new(&email_config(port, EmailSecurity::Plain)).unwrap();
    emailer
        .send("a@example.org", "Segnalazione", "prima", "job-1")
        .await
        .unwrap();
    assert_eq!(server.wait_for_messages(1).await.len(), 1);
    // The connection the first message went over is kept for the next one; the server
    // goes away under it and comes back on the same port.
    drop(server);
    let back = SmtpServer::start_on(port).await;
    emailer
        .send("a@example.org", "Segnalazione", "seconda", "job-2")
        .await
        .unwrap();
    let mail = back.wait_for_messages(1).await;
    assert_eq!(mail.len(), 1, "delivered once");
    assert_eq!(mail[0].body.trim_end(), "seconda");
}

#[tokio::test]
async fn a_burst_of_emails_sent_at_once_arrives_once_each() {
    let server = SmtpServer::start().await;
    let emailer = Emailer::new(&email_config(server.port(), EmailSecurity::Plain)).unwrap();
    for round in 0..2 {
        let sends = (0..10).map(|n| {
            let emailer = emailer.clone();
            async move {
                let key = format!("burst-{round}-{n}");
                emailer
                    .send("a@example.org", "Segnalazione", &key, &key)
                    .await
            }
        });
        for sent in futures::future::join_all(sends).await {
            sent.unwrap();
        }
    }
    let mail = server.wait_for_messages(20).await;
    let mut ids: Vec<_> = mail.iter().filter_map(|m| m.header("Message-ID")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((mail.len(), ids.len()), (20, 20), "each message once");
}

#[tokio::test]
async fn an_smtp_server_that_is_down_is_a_temporary_failure() {
    let emailer = Emailer::new(&email_config(free_port(), EmailSecurity::Plain)).unwrap();
    let err = emailer
        .send("a@example.org", "s", "b", "k")
        .await
        .unwrap_err();
    assert!(err.is_temporary(), "{err}");
}

#[tokio::test]
async fn starttls_is_required_so_a_server_without_it_gets_nothing() {
    let server = SmtpServer::start().await;
    let emailer = Emailer::new(&email_config(server.port(), EmailSecurity::Starttls)).unwrap();
    let err = emailer
        .send("a@example.org", "s", "b", "k")
        .await
        .unwrap_err();
    assert!(
        err.is_temporary() && err.to_string().contains("STARTTLS"),
        "{err}"
    );
    assert!(!err.to_string().contains("a@example.org"), "{err}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn tls_to_a_server_that_speaks_plain_smtp_fails_and_sends_nothing() {
    let server = SmtpServer::start().await;
    let emailer = Emailer::new(&email_config(server.port(), EmailSecurity::Tls)).unwrap();
    let err = emailer
        .send("a@example.org", "s", "b", "k")
        .await
        .unwrap_err();
    assert!(err.is_temporary(), "{err}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn an_invalid_recipient_address_is_a_permanent_failure() {
    let emailer = Emailer::new(&email_config(free_port(), EmailSecurity::Plain)).unwrap();
    let err = emailer
        .send("not an address", "s", "b", "k")
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Permanent { .. }), "{err}");
}

#[tokio::test]
async fn starttls_and_tls_are_read_from_the_configuration() {
    for (value, want) in [
        ("starttls", EmailSecurity::Starttls),
        ("tls", EmailSecurity::Tls),
        ("plain", EmailSecurity::Plain),
    ] {
        let env: Vec<(String, String)> = [
            (
                "HELPLINE_CONFIG",
                concat!(env!("CARGO_MANIFEST_DIR"), "/config/helpline.toml"),
            ),
            ("HELPLINE__NOTIFY__EMAIL__ENABLED", "true"),
            ("HELPLINE__NOTIFY__EMAIL__HOST", "smtp.example.org"),
            ("HELPLINE__NOTIFY__EMAIL__SECURITY", value),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let cfg = Config::load_from(&env).unwrap();
        assert_eq!(cfg.notify.email.security, want);
        Emailer::new(&cfg.notify.email).unwrap();
    }
}

#[tokio::test]
async fn an_sms_reaches_the_provider_with_auth_path_and_fields() {
    let provider = FakeSmsProvider::start(SID, TOKEN, SENDER).await;
    let client = SmsClient::new(&sms_config(&provider.base_url, TOKEN)).unwrap();
    let body = "Segnalazione P1 Pisa: rispondere OK 4821";
    let sent = client.send(CONTACT, body).await.unwrap();

    assert!(
        sent.sid.starts_with("SM") && sent.sid.len() == 34,
        "{}",
        sent.sid
    );
    assert_eq!(sent.status.as_str(), "queued");
    let accepted = provider.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].sid, sent.sid);
    assert_eq!(accepted[0].to, CONTACT);
    assert_eq!(accepted[0].from, SENDER);
    assert_eq!(accepted[0].body, body);
    assert_eq!(
        accepted[0].status_callback.as_deref(),
        Some("https://helpline.example/referrals/sms/status")
    );
}

#[tokio::test]
async fn wrong_credentials_are_a_permanent_failure() {
    let provider = FakeSmsProvider::start(SID, TOKEN, SENDER).await;
    let client = SmsClient::new(&sms_config(&provider.base_url, "wrong")).unwrap();
    let err = client.send(CONTACT, "testo").await.unwrap_err();
    assert!(!err.is_temporary(), "{err}");
    assert_eq!(err.provider_code(), Some(20003));
    assert_eq!(provider.requests(), 1);
    assert!(provider.accepted().is_empty());
}

#[tokio::test]
async fn an_invalid_number_is_refused_for_good_and_not_repeated_in_the_error() {
    let provider = FakeSmsProvider::start(SID, TOKEN, SENDER).await;
    let client = SmsClient::new(&sms_config(&provider.base_url, TOKEN)).unwrap();
    let err = client.send("3331234567", "testo").await.unwrap_err();
    assert_eq!(err.provider_code(), Some(21211), "{err}");
    assert!(!err.to_string().contains("3331234567"), "{err}");
}

#[tokio::test]
async fn a_body_over_1600_characters_is_refused_for_good() {
    let provider = FakeSmsProvider::start(SID, TOKEN, SENDER).await;
    let client = SmsClient::new(&sms_config(&provider.base_url, TOKEN)).unwrap();
    let err = client.send(CONTACT, &"è".repeat(1601)).await.unwrap_err();
    assert_eq!(err.provider_code(), Some(21617), "{err}");
    client.send(CONTACT, &"è".repeat(1600)).await.unwrap();
}

#[tokio::test]
async fn a_provider_error_500_is_temporary_and_the_retry_goes_through() {
    let provider = FakeSmsProvider::start(SID, TOKEN, SENDER).await;
    let client = SmsClient::new(&sms_config(&provider.base_url, TOKEN)).unwrap();
    provider.fail_next(1);
    let err = client.send(CONTACT, "testo").await.unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert!(provider.accepted().is_empty());
    client.send(CONTACT, "testo").await.unwrap();
    assert_eq!(provider.accepted().len(), 1);
}

#[tokio::test]
async fn an_unreachable_or_silent_provider_is_a_temporary_failure() {
    let down = format!("http://127.0.0.1:{}", free_port());
    let client = SmsClient::new(&sms_config(&down, TOKEN)).unwrap();
    assert!(client.send(CONTACT, "t").await.unwrap_err().is_temporary());

    // A provider that accepts the connection and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let mut cfg = sms_config(&silent, TOKEN);
    cfg.timeout_ms = 300;
    let err = SmsClient::new(&cfg)
        .unwrap()
        .send(CONTACT, "t")
        .await
        .unwrap_err();
    assert!(
        err.is_temporary() && err.to_string().contains("timed out"),
        "{err}"
    );
    hold.abort();
}

#[test]
fn a_webhook_signed_by_the_provider_is_accepted_and_a_tampered_one_is_not() {
    // The provider's published vector (twilio/twilio-python,
    // tests/unit/test_request_validator.py): token "12345", this URL and these fields.
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
    let params = form_params(body.as_bytes());
    let header = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    assert_eq!(signature::expected_signature("12345", url, &params), header);
    assert!(signature::is_valid("12345", url, &params, header));
    // Behind a proxy that shows the port, or signed with the port: still the same request.
    assert!(signature::is_valid(
        "12345",
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        &params,
        header
    ));
    assert!(signature::is_valid(
        "12345",
        url,
        &params,
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    ));

    let tampered = form_params(body.replace("Digits=1234", "Digits=1235").as_bytes());
    assert!(!signature::is_valid("12345", url, &tampered, header));
}

#[test]
fn a_contacts_signed_ok_reply_yields_its_code() {
    let url = "https://helpline.example/referrals/sms/inbound";
    let params =
        form_params(b"MessageSid=SM0001&From=%2B393331234567&To=%2B390550000000&Body=ok+4821");
    let header = signature::expected_signature(TOKEN, url, &params);
    assert!(signature::is_valid(TOKEN, url, &params, &header));
    let sms = InboundSms::from_params(&params).unwrap();
    assert_eq!(sms.ack_code().as_deref(), Some("4821"));
}

//! A P1 referral end to end: sent from the console, handed at once to a real SMTP
//! server and to the (strict) SMS provider, repeated and escalated to the backup on the
//! policy's schedule (time moved forward on the service's clock, not slept), and
//! stopped for good by an acknowledgement through the link in the e-mail.

use std::time::Duration;

use crate::console_client::{location, Console, PASSWORD};
use crate::helpers::{Backend, TestApp};
use chrono::{DateTime, Utc};
use helpline::calls::CallerHasher;
use helpline::referral::links::{LinkClaims, LinkSigner};
use secrecy::SecretString;

use crate::support::sms_provider::FakeSmsProvider;
use crate::support::smtp::SmtpServer;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dcafef00dcafef00dcafef00dcafe";
const SENDER: &str = "+390550000000";

/// Waits until `f` holds (the worker runs on its own); fails after 15 s.
pub(crate) async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never: {what}");
}

pub(crate) struct Story {
    pub app: TestApp,
    pub smtp: SmtpServer,
    pub sms: FakeSmsProvider,
    pub console: Console,
    pub summary: String,
}

/// A service with e-mail and SMS, and a P1 referral just sent to Firenze's emergency
/// shelter, its first e-mail and SMS received.
pub(crate) async fn p1_sent(backend: Backend) -> Option<Story> {
    p1_sent_with(backend, TOKEN, 0).await
}

/// Like [`p1_sent`], with the SMS token the service uses and provider errors (500) for
/// its first `failing` requests; waits for the first SMS only when it can arrive.
async fn p1_sent_with(backend: Backend, token: &str, failing: usize) -> Option<Story> {
    let smtp = SmtpServer::start().await;
    let sms = FakeSmsProvider::start(SID, TOKEN, SENDER).await;
    sms.fail_next(failing);
    let port = smtp.port().to_string();
    let app = TestApp::spawn_with(
        backend,
        &[
            ("HELPLINE__NOTIFY__EMAIL__ENABLED", "true"),
            ("HELPLINE__NOTIFY__EMAIL__HOST", "127.0.0.1"),
            ("HELPLINE__NOTIFY__EMAIL__PORT", &port),
            ("HELPLINE__NOTIFY__EMAIL__SECURITY", "plain"),
            (
                "HELPLINE__NOTIFY__EMAIL__FROM",
                "Numero Verde <noreply@helpline.example>",
            ),
            ("HELPLINE__NOTIFY__SMS__ENABLED", "true"),
            ("HELPLINE__NOTIFY__SMS__BASE_URL", &sms.base_url),
            ("HELPLINE__NOTIFY__SMS__ACCOUNT_SID", SID),
            ("HELPLINE__NOTIFY__SMS__AUTH_TOKEN", token),
            ("HELPLINE__JOBS__BACKOFF_BASE_MS", "100"),
            ("HELPLINE__NOTIFY__SMS__FROM", SENDER),
            (
                "HELPLINE__NOTIFY__SMS__STATUS_CALLBACK_URL",
                "https://helpline.example/referrals/sms/status",
            ),
            (
                "HELPLINE__NOTIFY__SMS__INBOUND_URL",
                "https://helpline.example/referrals/sms/inbound",
            ),
            ("HELPLINE__JOBS__POLL_INTERVAL_MS", "50"),
            ("HELPLINE_PUBLIC_URL", "https://helpline.example"),
        ],
    )
    .await?;
    let c = Console::new(&app);
    c.sign_in("operatrice", PASSWORD).await;
    let r = c
        .submit("/intakes/new", "/intakes", &[("source", "walk_in")])
        .await;
    let intake = location(&r).to_string();
    c.saved_step(&intake, "relevance", &[("relevance", "pertinent")])
        .await;
    c.saved_step(
        &intake,
        "caller",
        &[("caller_type", "victim"), ("reason", "help_exit")],
    )
    .await;
    c.saved_step(&intake, "danger", &[("danger", "yes")]).await;
    c.saved_step(
        &intake,
        "emergency",
        &[("emergency_situation", "shelter_tonight")],
    )
    .await;
    c.saved_step(&intake, "place", &[("territory", "FI")]).await;
    let summary = format!("{intake}/summary");
    let (_, html) = c.get_text(&summary).await;
    let at = html
        .find("<option value=\"fi-pronta\" selected>")
        .expect("fi-pronta proposed");
    let row = html[..at]
        .rfind("name=\"unit_")
        .map(|i| html[i + 11..].split('"').next().unwrap().to_string())
        .unwrap();
    let r = c
        .submit(&summary, &format!("{intake}/referrals"), &[("send", &row)])
        .await;
    assert_eq!(r.status().as_u16(), 303);

    // At once: the shelter's primary contact by e-mail and SMS.
    let mails = smtp.wait_for_messages(1).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].header("Subject").unwrap_or("").contains("[P1]"),
        "{:?}",
        mails[0].headers
    );
    assert!(mails[0]
        .header("To")
        .unwrap_or("")
        .contains("fi-pronta-1@example.invalid"));
    if token != TOKEN {
        return Some(Story {
            app,
            smtp,
            sms,
            console: c,
            summary,
        });
    }
    until("the first SMS", || sms.accepted().len() == 1).await;
    let first = &sms.accepted()[0];
    assert!(
        first.to.starts_with("+39300") && first.to[1..].chars().all(|c| c.is_ascii_digit()),
        "E.164: {}",
        first.to
    );
    assert!(first.body.contains("OK "), "{}", first.body);
    Some(Story {
        app,
        smtp,
        sms,
        console: c,
        summary,
    })
}

async fn escalation_story(backend: Backend) {
    let Some(Story {
        app,
        smtp,
        sms,
        console: c,
        summary,
    }) = p1_sent(backend).await
    else {
        return;
    };

    // Ten minutes later (on the service's clock): repeated at 5, backup added at 10.
    app.advance_when_settled(chrono::Duration::minutes(10))
        .await;
    let mails = smtp.wait_for_messages(4).await;
    let to: Vec<String> = mails
        .iter()
        .map(|m| m.header("To").unwrap_or("").to_string())
        .collect();
    assert_eq!(
        to.iter().filter(|t| t.contains("fi-pronta-1@")).count(),
        3,
        "{to:?}"
    );
    assert_eq!(
        to.iter().filter(|t| t.contains("fi-pronta-2@")).count(),
        1,
        "{to:?}"
    );
    until("four SMS", || sms.accepted().len() == 4).await;

    let (_, board) = c.get_text("/board").await;
    assert!(
        !board.contains("referral-alert"),
        "no red alert before 20 minutes"
    );

    // Twenty minutes: the regional coordinator too, and the board turns red.
    app.advance_when_settled(chrono::Duration::minutes(10))
        .await;
    let mails = smtp.wait_for_messages(9).await;
    let to: Vec<String> = mails
        .iter()
        .map(|m| m.header("To").unwrap_or("").to_string())
        .collect();
    assert_eq!(
        to.iter()
            .filter(|t| t.contains("segreteria-tecnica@"))
            .count(),
        1,
        "{to:?}"
    );
    until("nine SMS", || sms.accepted().len() == 9).await;
    let (_, board) = c.get_text("/board").await;
    assert!(board.contains("class=\"red-alert\""), "{board}");

    // The backup acknowledges through the link in the e-mail: the chain stops.
    let link = mails
        .iter()
        .find(|m| m.header("To").unwrap_or("").contains("fi-pronta-2@"))
        .and_then(|m| {
            m.body
                .lines()
                .find(|l| l.starts_with("https://helpline.example/ack/"))
                .map(str::to_string)
        })
        .expect("a link in the backup's e-mail");
    let path = link.trim_start_matches("https://helpline.example");
    let anonymous = reqwest::Client::new();
    let r = anonymous
        .post(app.url(path))
        .form(&[("answer", "accept"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, html) = c.get_text(&summary).await;
    assert!(
        html.contains("acknowledged (fi-pronta-2)"),
        "the operator sees who: {html}"
    );
    let (_, board) = c.get_text("/board").await;
    assert!(
        !board.contains("referral-alert"),
        "the alert ends with the acknowledgement"
    );
    app.advance_when_settled(chrono::Duration::minutes(30))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        smtp.messages().len(),
        9,
        "nothing after the acknowledgement"
    );
    assert_eq!(sms.accepted().len(), 9);
    // Each message went once: one delivery per step, person and channel.
    let (deliveries, distinct): (i64, i64) = helpline::with_db!(&app.db, |pool| sqlx::query_as(
        "select count(*), count(distinct minute || person || channel) from deliveries"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!((deliveries, distinct), (18, 18));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_p1_referral_escalates_on_time_and_stops_when_acknowledged_sqlite() {
    escalation_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_p1_referral_escalates_on_time_and_stops_when_acknowledged_postgres() {
    escalation_story(Backend::Postgres).await;
}

fn signed_post(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    token: &str,
) -> reqwest::RequestBuilder {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = helpline::referral::notify::signature::expected_signature(
        token,
        &format!("https://helpline.example{path}"),
        &owned,
    );
    reqwest::Client::new()
        .post(app.url(path))
        .header("x-twilio-signature", signature)
        .form(params)
}

async fn sms_reply_story(backend: Backend) {
    let Some(Story {
        app,
        smtp,
        sms,
        console: c,
        summary,
    }) = p1_sent(backend).await
    else {
        return;
    };
    let first = sms.accepted()[0].clone();
    let id: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select id from referrals"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    let reply = format!("OK {id}");
    let params = [
        ("MessageSid", "SM0000000000000000000000000000aaaa"),
        ("From", first.to.as_str()),
        ("To", SENDER),
        ("Body", reply.as_str()),
    ];
    // Unsigned, or signed with another token: refused, nothing changes.
    let r = reqwest::Client::new()
        .post(app.url("/referrals/sms/inbound"))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = signed_post(&app, "/referrals/sms/inbound", &params, "not the token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let (_, html) = c.get_text(&summary).await;
    assert!(!html.contains("acknowledged ("), "{html}");
    // The provider's delivery report is recorded.
    let status = [
        ("MessageSid", first.sid.as_str()),
        ("MessageStatus", "delivered"),
    ];
    let r = signed_post(&app, "/referrals/sms/status", &status, TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let delivered: String = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select status from deliveries where channel = 'sms'"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(delivered, "delivered");
    // The signed reply acknowledges, once even if the provider posts it twice.
    for _ in 0..2 {
        let r = signed_post(&app, "/referrals/sms/inbound", &params, TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.text().await.unwrap().contains("<Response>"));
    }
    let (_, html) = c.get_text(&summary).await;
    assert!(html.contains("acknowledged (fi-pronta-1)"), "{html}");
    app.advance_when_settled(chrono::Duration::minutes(30))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        smtp.messages().len(),
        1,
        "nothing after the acknowledgement"
    );
    assert_eq!(sms.accepted().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_sms_reply_acknowledges_and_stops_the_chain_sqlite() {
    sms_reply_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_sms_reply_acknowledges_and_stops_the_chain_postgres() {
    sms_reply_story(Backend::Postgres).await;
}

async fn provider_down_story(backend: Backend) {
    // The provider fails twice (500), then works: the SMS goes once.
    let Some(Story { app, sms, .. }) = p1_sent_with(backend, TOKEN, 2).await else {
        return;
    };
    assert_eq!(sms.accepted().len(), 1);
    assert_eq!(
        sms.requests(),
        3,
        "two refused attempts, then the one that went"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sms.accepted().len(), 1, "delivered once");
    let rows: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select count(*) from deliveries where channel = 'sms'"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(rows, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_provider_down_then_back_delivers_once_sqlite() {
    provider_down_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_provider_down_then_back_delivers_once_postgres() {
    provider_down_story(Backend::Postgres).await;
}

async fn failure_shown_story(backend: Backend) {
    // Wrong credentials: the provider refuses for good; supervisors see it.
    let Some(Story { app, sms, .. }) =
        p1_sent_with(backend, "a wrong token for this account", 0).await
    else {
        return;
    };
    app.token_for("supervisora", helpline::auth::Role::Supervisor)
        .await;
    let s = Console::new(&app);
    s.sign_in("supervisora", PASSWORD).await;
    let mut page = String::new();
    for _ in 0..100 {
        page = s.get_text("/notifications/failures").await.1;
        if page.contains("failure failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(page.contains("failure failed"), "{page}");
    assert!(page.contains("contact:fi-pronta-1"), "{page}");
    assert!(!page.contains("+39"), "no number on the page");
    assert!(sms.accepted().is_empty());
    let c = Console::new(&app);
    c.sign_in("operatrice", PASSWORD).await;
    assert_eq!(
        c.get("/notifications/failures").await.status().as_u16(),
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_that_fails_for_good_is_shown_to_supervisors_sqlite() {
    failure_shown_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_that_fails_for_good_is_shown_to_supervisors_postgres() {
    failure_shown_story(Backend::Postgres).await;
}

async fn restart_story(backend: Backend) {
    let Some(Story {
        mut app, smtp, sms, ..
    }) = p1_sent(backend).await
    else {
        return;
    };
    // The service stops after the first step and comes back twelve minutes later: the
    // steps due meanwhile (5 and 10 minutes) run once each, nothing of step 0 again.
    app.restart(chrono::Duration::minutes(12)).await;
    let mails = smtp.wait_for_messages(4).await;
    assert_eq!(
        mails.len(),
        4,
        "steps 0, 5 (primary) and 10 (primary and backup)"
    );
    until("four SMS", || sms.accepted().len() == 4).await;
    let per_step: Vec<(i64, i64)> = helpline::with_db!(&app.db, |pool| {
        sqlx::query_as(
        "select minute, count(*) from deliveries where channel = 'email' group by minute order by minute"
    )
    .fetch_all(pool)
    .await
    .unwrap()
    });
    assert_eq!(per_step, [(0, 1), (5, 1), (10, 2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_chain_loses_no_step_and_doubles_none_sqlite() {
    restart_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_chain_loses_no_step_and_doubles_none_postgres() {
    restart_story(Backend::Postgres).await;
}

async fn smtp_down_story(backend: Backend) {
    // The SMTP server is down when the referral goes out; it comes back; the e-mail is
    // delivered once.
    let Some(Story { app, smtp, sms, .. }) = p1_sent(backend).await else {
        return;
    };
    let port = smtp.port();
    drop(smtp);
    // The next step (5 minutes) finds the server down.
    app.clock.advance(chrono::Duration::minutes(5));
    until("the step's SMS", || sms.accepted().len() == 2).await;
    // The e-mail's first attempt fails and it waits for a retry (how soon the attempt
    // fails depends on the machine's load: polled, not slept).
    let mut retrying = 0_i64;
    for _ in 0..300 {
        retrying = helpline::with_db!(&app.db, |pool| {
            sqlx::query_scalar(
                "select count(*) from jobs where kind = 'referral.notify' and state = 'pending' and attempts > 0",
            )
            .fetch_one(pool)
            .await
            .unwrap()
        });
        if retrying > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(retrying, 1, "the e-mail waits to be retried");
    let back = SmtpServer::start_on(port).await;
    let mails = back.wait_for_messages(1).await;
    assert_eq!(mails.len(), 1, "delivered once");
    assert!(mails[0].body.contains("https://helpline.example/ack/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_down_then_back_delivers_once_sqlite() {
    smtp_down_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_down_then_back_delivers_once_postgres() {
    smtp_down_story(Backend::Postgres).await;
}

async fn mediators_called_story(backend: Backend) {
    let Some(Story {
        app,
        smtp,
        sms,
        console: c,
        summary,
    }) = p1_sent(backend).await
    else {
        return;
    };
    let intake = summary.trim_end_matches("/summary").to_string();
    let r = c
        .submit(
            &summary,
            &format!("{intake}/mediation"),
            &[("language", "ru")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    // Every mediator on call for Russian (the default rota: all who speak it) is told,
    // by e-mail and SMS, once.
    let directory = helpline::referral::Directory::parse(
        helpline::referral::directory::EMBEDDED_DIRECTORY,
        "test",
    )
    .unwrap();
    let speak_ru: Vec<String> = directory
        .mediators
        .iter()
        .filter(|m| m.languages.iter().any(|l| l == "ru"))
        .map(|m| m.email.clone())
        .collect();
    assert!(speak_ru.len() >= 2);
    let mails = smtp.wait_for_messages(1 + speak_ru.len()).await;
    let to: Vec<String> = mails
        .iter()
        .map(|m| m.header("To").unwrap_or("").to_string())
        .collect();
    for m in &speak_ru {
        assert_eq!(
            to.iter().filter(|t| t.contains(m.as_str())).count(),
            1,
            "{to:?}"
        );
    }
    let mediation_mail = mails
        .iter()
        .find(|m| {
            m.header("Subject")
                .unwrap_or("")
                .starts_with("[Mediazione]")
        })
        .expect("a mediation e-mail");
    assert!(mediation_mail.body.contains("800 186 086"));
    until("the mediators' SMS", || {
        sms.accepted().len() == 1 + speak_ru.len()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sms.accepted().len(), 1 + speak_ru.len(), "once each");
    assert_eq!(smtp.messages().len(), 1 + speak_ru.len(), "once each");
    let _ = app;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mediators_on_call_are_told_of_a_mediation_request_sqlite() {
    mediators_called_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mediators_on_call_are_told_of_a_mediation_request_postgres() {
    mediators_called_story(Backend::Postgres).await;
}

fn signer() -> LinkSigner {
    let hasher = CallerHasher::from_secret(&SecretString::from(
        "test-key-test-key-test-key-test-key".to_string(),
    ));
    LinkSigner::new(
        hasher
            .derive_key("helpline referral acknowledgement links v1")
            .unwrap(),
    )
}

async fn link_story(backend: Backend) {
    let Some(Story { app, smtp, .. }) = p1_sent(backend).await else {
        return;
    };
    let (id, contact, expires_at): (i64, String, DateTime<Utc>) = helpline::with_db!(
        &app.db,
        |pool| sqlx::query_as("select referral_id, contact_code, expires_at from referral_links")
            .fetch_one(pool)
            .await
            .unwrap()
    );
    assert!(contact.starts_with("fi-pronta"), "{contact}");
    // The link the contact received is the one the service signed and recorded.
    let token = signer()
        .token(&LinkClaims {
            referral_id: id,
            contact: contact.clone(),
            expires_at,
        })
        .unwrap();
    let mails = smtp.messages();
    let link = mails[0]
        .body
        .lines()
        .find(|l| l.starts_with("https://helpline.example/ack/"))
        .expect("a link in the e-mail");
    assert_eq!(link, format!("https://helpline.example/ack/{token}"));
    let anonymous = reqwest::Client::new();
    let page = anonymous
        .get(app.url(&format!("/ack/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("id=\"accept\""));
    let r = anonymous
        .post(app.url(&format!("/ack/{token}")))
        .form(&[("answer", "accept"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Used once: a replay is refused.
    let again = anonymous
        .post(app.url(&format!("/ack/{token}")))
        .form(&[("answer", "decline"), ("note", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 410);
    let state: (String, String, String) = helpline::with_db!(&app.db, |pool| sqlx::query_as(
        "select state, acknowledged_by, ack_channel from referrals where id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(
        state,
        (
            "acknowledged".to_string(),
            contact.clone(),
            "link".to_string()
        )
    );
    // A forged link (another key), an altered one and an expired one are refused.
    let forged = LinkSigner::new(secrecy::SecretBox::new(b"another key".to_vec().into()))
        .token(&LinkClaims {
            referral_id: id,
            contact: contact.clone(),
            expires_at,
        })
        .unwrap();
    assert_eq!(
        anonymous
            .get(app.url(&format!("/ack/{forged}")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    let altered = token.replacen(&format!("{id}."), &format!("{}.", id + 1), 1);
    assert_eq!(
        anonymous
            .get(app.url(&format!("/ack/{altered}")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    let expired = signer()
        .token(&LinkClaims {
            referral_id: id,
            contact,
            expires_at: Utc::now() - chrono::Duration::minutes(1),
        })
        .unwrap();
    assert_eq!(
        anonymous
            .get(app.url(&format!("/ack/{expired}")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        410
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_link_works_once_and_forged_or_expired_ones_are_refused_sqlite() {
    link_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_link_works_once_and_forged_or_expired_ones_are_refused_postgres() {
    link_story(Backend::Postgres).await;
}

//! How the phones ring: `longest_idle` rings one operator at a time, the one available
//! longest first; a desk phone configured without registration rings like a registered
//! one. sipp plays the trunk and both phones.

use helpline::auth::Role;
use helpline::calls::CallState;

use crate::console_client::{Console, PASSWORD};
use crate::helpers::{Backend, TestApp};
use crate::sip_calls::{free_port, operator_with_phone, passed, sip_app, sipp, the_call};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longest_idle_first_then_the_next_operator_on_a_configured_desk_phone() {
    let desk = free_port();
    let phones = format!("[{{ user = \"bruno\", contact = \"sip:desk-2@127.0.0.1:{desk}\" }}]");
    let Some(app) = sip_app(
        Backend::Sqlite,
        &[
            ("HELPLINE__SIP__RING_STRATEGY", "longest_idle"),
            ("HELPLINE__SIP__HUNT_SECONDS", "1"),
            ("HELPLINE__SIP__RING_TIMEOUT_SECONDS", "10"),
            ("HELPLINE__SIP__PHONES", phones.as_str()),
        ],
    )
    .await
    else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    // Anna has been available longest (registered softphone); Bruno since after her,
    // with a desk phone that never registers.
    let anna_port = free_port();
    operator_with_phone(&app, "anna", anna_port).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.token_for("bruno", Role::Operator).await;
    let c = Console::new(&app);
    c.sign_in("bruno", PASSWORD).await;
    let r = c
        .submit("/board", "/board/status", &[("status", "available")])
        .await;
    assert!(r.status().is_redirection());
    let bruno = helpline::auth::users::find(&app.db, "bruno")
        .await
        .unwrap()
        .id;

    // Anna's phone rings alone for a second and is cancelled; then Bruno's desk phone
    // rings and answers.
    let anna_phone = sipp("phone_cancelled", None, anna_port);
    let desk_phone = sipp("phone_answer", None, desk);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let trunk = sipp("trunk_call", Some(sip), free_port());
    passed(anna_phone, "anna's phone, rung first then cancelled").await;
    passed(desk_phone, "bruno's desk phone").await;
    passed(trunk, "the trunk's call").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}");
    assert_eq!(answered_by, Some(bruno));
    assert_eq!(
        events,
        ["offered", "queued", "ringing", "answered", "ended"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_a_number_that_is_no_line_is_refused_and_recorded() {
    let Some(app) = sip_app(Backend::Sqlite, &[]).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    passed(
        sipp("trunk_unknown_line", Some(sip), free_port()),
        "404 to the trunk",
    )
    .await;
    let (state, _, events) = the_call(&app).await;
    assert_eq!(state, CallState::Failed.as_str(), "{events:?}");
    let (line, reason): (Option<String>, Option<String>) = helpline::with_db!(&app.db, |pool| {
        sqlx::query_as(
            "select c.line, e.reason from calls c join call_events e on e.call_id = c.id \
             where e.state = 'failed'",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(line.as_deref(), Some("800999999"));
    assert_eq!(reason.as_deref(), Some("unknown_line"));
}

/// The service with a trunk known only by its credentials (sipp's address is not a
/// trunk address here).
async fn app_with_trunk_credentials() -> Option<TestApp> {
    TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("HELPLINE__SIP__ENABLED", "true"),
            ("HELPLINE__SIP__TRUNKS", "[\"192.0.2.1\"]"),
            ("HELPLINE__SIP__TRUNK_USERNAME", "trunk-provider"),
            ("HELPLINE__SIP__TRUNK_PASSWORD", "provider-secret-1"),
        ],
    )
    .await
}

/// sipp as the trunk with `scenario`, authenticating with `password`.
fn trunk_with(scenario: &str, sip: std::net::SocketAddr, password: &str) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new("sipp");
    cmd.arg("-sf")
        .arg(crate::sip_calls::scenario(scenario))
        .arg(sip.to_string())
        .args(["-i", "127.0.0.1", "-p", &free_port().to_string(), "-m", "1"])
        .args(["-au", "trunk-provider", "-ap", password])
        .args(["-timeout", "30s", "-timeout_error", "-nostdin"])
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().expect("sipp runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_known_by_its_credentials_is_challenged_then_taken() {
    let Some(app) = app_with_trunk_credentials().await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let p = free_port();
    let anna = operator_with_phone(&app, "anna", p).await;
    let phone = sipp("phone_answer", None, p);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let trunk = trunk_with("trunk_call_auth", sip, "provider-secret-1");
    passed(phone, "anna's phone").await;
    passed(trunk, "the authenticated trunk's call").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}");
    assert_eq!(answered_by, Some(anna));
    let calls: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select count(*) from calls"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(
        calls, 1,
        "the challenged INVITE opened no record of its own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_that_are_not_the_trunks_are_refused() {
    let Some(app) = app_with_trunk_credentials().await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    passed(
        trunk_with("trunk_call_auth_refused", sip, "not-the-password"),
        "403 after the challenge",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let calls: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select count(*) from calls"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(calls, 0, "nothing recorded for a refused INVITE");
}

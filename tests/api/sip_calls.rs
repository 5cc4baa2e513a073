//! Calls from the trunk to the operators' phones, with real SIP peers: sipp plays the
//! trunk and each phone. Two operators available: both phones ring, one answers, the
//! other is cancelled; the caller hangs up while ringing; nobody available. After each,
//! the call record has the right final state, who answered, and its times.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::Utc;
use helpline::auth::Role;
use helpline::calls::CallState;
use helpline::telephony::sip::bindings::{self, Registration};

use crate::console_client::{Console, PASSWORD};
use crate::helpers::{Backend, TestApp};

pub fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/sip/{name}.xml"))
}

/// A free UDP port on 127.0.0.1 for a sipp phone.
pub fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts sipp with `name` once; `target` for a caller, none for a phone waiting on
/// `port`.
pub fn sipp(name: &str, target: Option<SocketAddr>, port: u16) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new("sipp");
    cmd.arg("-sf").arg(scenario(name));
    if let Some(t) = target {
        cmd.arg(t.to_string());
    }
    cmd.args(["-i", "127.0.0.1", "-p", &port.to_string(), "-m", "1"])
        .args(["-timeout", "30s", "-timeout_error", "-nostdin"])
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().expect("sipp runs (Debian package sip-tester)")
}

pub async fn passed(child: tokio::process::Child, what: &str) {
    let out = child.wait_with_output().await.unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let tail: String = text
        .lines()
        .filter(|l| l.contains("<-") || l.contains("->") || l.contains(':'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(out.status.success(), "{what} failed:\n{tail}");
}

/// The service with the trunk on 127.0.0.1 (where sipp sends from).
async fn app(backend: Backend) -> Option<TestApp> {
    sip_app(backend, &[("HELPLINE__SIP__RING_TIMEOUT_SECONDS", "10")]).await
}

/// The service with the SIP endpoint on and the trunk on 127.0.0.1 (where sipp sends
/// from), plus `extra` settings.
pub async fn sip_app(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut env = vec![
        ("HELPLINE__SIP__ENABLED", "true"),
        ("HELPLINE__SIP__TRUNKS", "[\"127.0.0.1\"]"),
    ];
    env.extend_from_slice(extra);
    TestApp::spawn_with(backend, &env).await
}

/// An operator marked available on the board, with a phone registered at `port`.
pub async fn operator_with_phone(app: &TestApp, name: &str, port: u16) -> i64 {
    app.token_for(name, Role::Operator).await;
    let c = Console::new(app);
    c.sign_in(name, PASSWORD).await;
    let r = c
        .submit("/board", "/board/status", &[("status", "available")])
        .await;
    assert!(r.status().is_redirection() || r.status().is_success());
    let id = helpline::auth::users::find(&app.db, name).await.unwrap().id;
    let contacts = vec![(format!("sip:{name}@127.0.0.1:{port}"), 600)];
    let source = format!("udp:127.0.0.1:{port}");
    bindings::register(
        &app.db,
        &Registration {
            user_id: id,
            contacts: &contacts,
            remove_all: false,
            source: &source,
            call_id: "test",
            cseq: 1,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    id
}

/// The one SIP call's final state (waiting up to 5 s for it: the service records it
/// as the last message is answered), answering operator, and states in order.
pub async fn the_call(app: &TestApp) -> (String, Option<i64>, Vec<String>) {
    for _ in 0..100 {
        let call = read_call(app).await;
        if ["ended", "abandoned", "missed", "failed"].contains(&call.0.as_str()) {
            return call;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    read_call(app).await
}

pub async fn read_call(app: &TestApp) -> (String, Option<i64>, Vec<String>) {
    helpline::with_db!(&app.db, |pool| {
        let (id, state): (String, String) =
            sqlx::query_as("select cast(id as text), state from calls where channel = 'sip'")
                .fetch_one(pool)
                .await
                .unwrap();
        let events: Vec<(String, Option<i64>)> = sqlx::query_as(
            "select state, actor_user_id from call_events where cast(call_id as text) = $1 order by seq",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .unwrap();
        let answered_by = events
            .iter()
            .find(|(s, _)| s == "answered")
            .and_then(|(_, a)| *a);
        (
            state,
            answered_by,
            events.into_iter().map(|(s, _)| s).collect(),
        )
    })
}

async fn answered_story(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let (p1, p2) = (free_port(), free_port());
    let anna = operator_with_phone(&app, "anna", p1).await;
    operator_with_phone(&app, "bruno", p2).await;
    // Whichever phone rings first answers... sipp's anna answers, bruno only rings.
    let phone_a = sipp("phone_answer", None, p1);
    let phone_b = sipp("phone_cancelled", None, p2);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let trunk = sipp("trunk_call", Some(sip), free_port());
    passed(phone_a, "anna's phone").await;
    passed(trunk, "the trunk's call").await;
    passed(phone_b, "bruno's phone (cancelled)").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}");
    assert_eq!(answered_by, Some(anna));
    assert_eq!(
        events,
        ["offered", "queued", "ringing", "answered", "ended"],
        "every transition recorded"
    );
    // The caller's number is kept only as its hash and territory.
    let (hash, hint): (Option<String>, Option<String>) = helpline::with_db!(&app.db, |pool| {
        sqlx::query_as("select caller_hash, territory_hint from calls")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert!(hash.is_some_and(|h| !h.contains("1234567")));
    assert_eq!(hint.as_deref(), Some("FI"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_phones_ring_one_answers_the_other_is_cancelled_sqlite() {
    answered_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_phones_ring_one_answers_the_other_is_cancelled_postgres() {
    answered_story(Backend::Postgres).await;
}

async fn abandoned_story(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let p = free_port();
    operator_with_phone(&app, "anna", p).await;
    let phone = sipp("phone_cancelled", None, p);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    passed(
        sipp("trunk_cancel", Some(sip), free_port()),
        "the caller's CANCEL",
    )
    .await;
    passed(phone, "the phone, cancelled").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Abandoned.as_str(), "{events:?}");
    assert_eq!(answered_by, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_while_ringing_is_abandoned_sqlite() {
    abandoned_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_while_ringing_is_abandoned_postgres() {
    abandoned_story(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_available_the_call_is_missed_not_lost() {
    let Some(app) = app(Backend::Sqlite).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    passed(
        sipp("trunk_unanswered", Some(sip), free_port()),
        "480 to the trunk",
    )
    .await;
    let (state, _, events) = the_call(&app).await;
    assert_eq!(state, CallState::Missed.as_str(), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_who_hangs_up_ends_the_call_for_the_caller() {
    let Some(app) = app(Backend::Sqlite).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let p = free_port();
    let anna = operator_with_phone(&app, "anna", p).await;
    let phone = sipp("phone_hangs_up", None, p);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let trunk = sipp("trunk_call_hung_up_on", Some(sip), free_port());
    passed(phone, "anna's phone hanging up").await;
    passed(trunk, "the caller told by BYE").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}");
    assert_eq!(answered_by, Some(anna));
    let reason: Option<String> = helpline::with_db!(&app.db, |pool| {
        sqlx::query_scalar("select reason from call_events where state = 'ended'")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert_eq!(reason.as_deref(), Some("operator_hung_up"));
}

//! The SIP endpoint with real peers: sipp (Debian's sip-tester) probes it, registers an
//! operator's phone with digest credentials over UDP and TCP, and calls from an address
//! that is not the trunk's; raw datagrams check that scanners get no answer, that a
//! burst of malformed messages leaves it answering, and that a flood is cut off.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use helpline::auth::Role;
use helpline::telephony::sip::bindings;
use tokio::net::UdpSocket;

use crate::helpers::{Backend, TestApp};

/// The service with SIP on, the trunk at an address the tests never send from, and
/// the operator `anna` with phone password `phone-secret-1`.
async fn sip_app(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("HELPLINE__SIP__ENABLED", "true"),
            ("HELPLINE__SIP__TRUNKS", "[\"192.0.2.10\"]"),
            ("HELPLINE__SIP__FLOOD_PER_SECOND", "20"),
            ("HELPLINE__SIP__FLOOD_BURST", "40"),
        ],
    )
    .await?;
    app.token_for("anna", Role::Operator).await;
    assert!(
        bindings::set_password(&app.db, "anna", "helpline", "phone-secret-1")
            .await
            .unwrap()
    );
    Some(app)
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/sip/{name}.xml"))
}

/// Runs sipp with a scenario once against `target`; whether it passed, and its output.
async fn sipp(name: &str, target: SocketAddr, extra: &[&str]) -> (bool, String) {
    let trace = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new("sipp")
        .current_dir(trace.path())
        .arg("-sf")
        .arg(scenario(name))
        .arg(target.to_string())
        .args([
            "-i",
            "127.0.0.1",
            "-m",
            "1",
            "-timeout",
            "15s",
            "-timeout_error",
        ])
        .args(["-trace_err", "-nostdin"])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("sipp runs (Debian package sip-tester)");
    let mut text = String::from_utf8_lossy(&out.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if let Ok(dir) = std::fs::read_dir(trace.path()) {
        for f in dir.flatten() {
            text.push_str(&std::fs::read_to_string(f.path()).unwrap_or_default());
        }
    }
    (out.status.success(), text)
}

async fn anna_id(app: &TestApp) -> i64 {
    helpline::auth::users::find(&app.db, "anna")
        .await
        .unwrap()
        .id
}

/// Sends `datagram` from `socket` and waits up to `wait` for an answer.
async fn ask(socket: &UdpSocket, to: SocketAddr, datagram: &str, wait: Duration) -> Option<String> {
    socket.send_to(datagram.as_bytes(), to).await.unwrap();
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(String::from_utf8_lossy(&buf[..n]).to_string()),
        _ => None,
    }
}

fn options(from: SocketAddr, to: SocketAddr, n: usize, user_agent: &str) -> String {
    format!(
        "OPTIONS sip:probe@{to} SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK-{n}-probe\r\n\
         From: <sip:probe@{from}>;tag=t{n}\r\nTo: <sip:probe@{to}>\r\nCall-ID: probe-{n}@test\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nUser-Agent: {user_agent}\r\nContent-Length: 0\r\n\r\n"
    )
}

async fn probes_and_registration(backend: Backend) {
    let Some(app) = sip_app(backend).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let (ok, out) = sipp("options", sip, &[]).await;
    assert!(ok, "OPTIONS answered 200: {out}");
    let (ok, out) = sipp("options", sip, &["-t", "t1"]).await;
    assert!(ok, "OPTIONS over TCP: {out}");

    // A wrong phone password: challenged, then refused; nothing registered.
    let (ok, out) = sipp(
        "register_refused",
        sip,
        &["-s", "anna", "-au", "anna", "-ap", "not-the-password"],
    )
    .await;
    assert!(ok, "refused with 403: {out}");
    let id = anna_id(&app).await;
    assert!(bindings::bindings_of(&app.db, id, Utc::now())
        .await
        .unwrap()
        .is_empty());

    // The right one, from a desk phone (UDP) and a softphone (TCP): two devices.
    let (ok, out) = sipp(
        "register",
        sip,
        &["-s", "anna", "-au", "anna", "-ap", "phone-secret-1"],
    )
    .await;
    assert!(ok, "registered over UDP: {out}");
    let (ok, out) = sipp(
        "register",
        sip,
        &[
            "-s",
            "anna",
            "-au",
            "anna",
            "-ap",
            "phone-secret-1",
            "-t",
            "t1",
        ],
    )
    .await;
    assert!(ok, "registered over TCP: {out}");
    let devices = bindings::bindings_of(&app.db, id, Utc::now())
        .await
        .unwrap();
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert!(devices
        .iter()
        .any(|b| b.source.starts_with("udp:127.0.0.1:")));
    assert!(devices
        .iter()
        .any(|b| b.source.starts_with("tcp:127.0.0.1:")));
    for b in &devices {
        let left = (b.expires_at - Utc::now()).num_seconds();
        assert!((590..=600).contains(&left), "expires as asked: {left}");
    }

    // An INVITE from an address that is not the trunk's: 403, counted.
    let (ok, out) = sipp("invite_refused", sip, &[]).await;
    assert!(ok, "INVITE refused with 403: {out}");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("helpline_sip_rejected_total{reason=\"not_trunk\"}"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_probes_registers_and_is_refused_as_a_trunk_sqlite() {
    probes_and_registration(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_probes_registers_and_is_refused_as_a_trunk_postgres() {
    probes_and_registration(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanners_garbage_and_floods_do_not_stop_the_endpoint() {
    let Some(app) = sip_app(Backend::Sqlite).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = socket.local_addr().unwrap();
    let short = Duration::from_millis(700);
    // A scanner gets no answer at all.
    assert_eq!(
        ask(
            &socket,
            sip,
            &options(me, sip, 1, "friendly-scanner"),
            short
        )
        .await,
        None
    );
    // A burst of malformed datagrams (from another address, under its flood limit or
    // not): dropped, never an answer, never a crash.
    let junk = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let garbage: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02\x03".to_vec(),
        b"INVITE\r\n\r\n".to_vec(),
        b"OPTIONS sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n".to_vec(),
        b"SIP/2.0 200 OK\r\nCSeq: abc\r\n\r\n".to_vec(),
        vec![b'A'; 1400],
        "REGISTER sip:\u{1F4A3} SIP/2.0\r\nContent-Length: 99999\r\n\r\n"
            .as_bytes()
            .to_vec(),
    ];
    for round in 0..50 {
        for g in &garbage {
            junk.send_to(g, sip).await.unwrap();
        }
        if round % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let answer = ask(
        &socket,
        sip,
        &options(me, sip, 2, "monitor"),
        Duration::from_secs(3),
    )
    .await
    .expect("still answering OPTIONS");
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    // A flood from one address is cut off (20/s, burst 40): far fewer answers than
    // requests, while another address is still answered.
    let flooder = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    let from = flooder.local_addr().unwrap();
    for n in 0..300 {
        flooder
            .send_to(options(from, sip, 1000 + n, "monitor").as_bytes(), sip)
            .await
            .unwrap();
    }
    let mut answered = 0;
    let mut buf = vec![0u8; 4096];
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(500), flooder.recv_from(&mut buf)).await
    {
        answered += 1;
    }
    assert!(answered < 150, "flood cut off: {answered} of 300 answered");
    assert!(answered >= 20, "the allowance was answered: {answered}");
    let other = UdpSocket::bind("127.0.0.4:0").await.unwrap();
    let other_addr = other.local_addr().unwrap();
    let answer = ask(
        &other,
        sip,
        &options(other_addr, sip, 3, "monitor"),
        Duration::from_secs(3),
    )
    .await
    .expect("another address is answered");
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    let metrics = app.metrics().await;
    assert!(metrics.contains("reason=\"flood\""), "{metrics}");
    assert!(metrics.contains("reason=\"scanner\""), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trunk_is_never_cut_off_by_the_flood_limit() {
    let Some(app) = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("HELPLINE__SIP__ENABLED", "true"),
            ("HELPLINE__SIP__TRUNKS", "[\"127.0.0.5\"]"),
            ("HELPLINE__SIP__FLOOD_PER_SECOND", "20"),
            ("HELPLINE__SIP__FLOOD_BURST", "40"),
        ],
    )
    .await
    else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let trunk = UdpSocket::bind("127.0.0.5:0").await.unwrap();
    let from = trunk.local_addr().unwrap();
    let mut answered = 0;
    let mut buf = vec![0u8; 4096];
    for n in 0..150 {
        trunk
            .send_to(options(from, sip, n, "trunk").as_bytes(), sip)
            .await
            .unwrap();
        // Paced a little so that no datagram is lost in the socket buffers.
        if n % 10 == 9 {
            while let Ok(Ok(_)) =
                tokio::time::timeout(Duration::from_millis(200), trunk.recv_from(&mut buf)).await
            {
                answered += 1;
            }
        }
    }
    assert_eq!(answered, 150, "every probe from the trunk answered");
}

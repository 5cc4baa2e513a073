//! The language menu with real peers: sipp plays the trunk (its own RFC 2833 recording
//! of key 2, a key as SIP INFO, or no key at all) and the operators' phones; a UDP receiver in the test
//! stands for the caller's ear. The call record keeps the language, the operator who
//! speaks it is rung first, and the caller hears the prompts.

use std::time::Duration;

use helpline::auth::{manage, SpokenLanguages};
use helpline::calls::CallState;
use helpline::telephony::media::g711::Codec;
use helpline::telephony::media::tone;
use tokio::net::UdpSocket;

use crate::helpers::{Backend, TestApp};
use crate::sip_calls::{free_port, operator_with_phone, passed, scenario, sip_app, sipp, the_call};

/// sipp as the trunk calling `target`, its SDP naming `sink` as where the caller hears.
fn trunk(name: &str, target: std::net::SocketAddr, sink: u16) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new("sipp");
    cmd.arg("-sf")
        .arg(scenario(name))
        .arg(target.to_string())
        .args(["-i", "127.0.0.1", "-p", &free_port().to_string(), "-m", "1"])
        .args(["-mp", &free_port().to_string()])
        .args(["-key", "sink", &sink.to_string()])
        .args(["-timeout", "60s", "-timeout_error", "-nostdin"])
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().expect("sipp runs (Debian package sip-tester)")
}

/// What the caller hears: the samples of the PCMU packets reaching `sink`, until
/// nothing has come for two seconds.
async fn listen(sink: UdpSocket) -> Vec<i16> {
    let mut samples = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(Ok(len)) = tokio::time::timeout(Duration::from_secs(2), sink.recv(&mut buf)).await
    {
        if len > 12 && buf[1] & 0x7f == 0 {
            samples.extend(buf[12..len].iter().map(|b| Codec::Pcmu.decode_sample(*b)));
        }
    }
    samples
}

async fn language_of_the_call(app: &TestApp) -> Option<String> {
    helpline::with_db!(&app.db, |pool| {
        sqlx::query_scalar("select language from calls where channel = 'sip'")
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn menu_app() -> Option<TestApp> {
    sip_app(
        Backend::Sqlite,
        &[
            ("HELPLINE__SIP__MENU", "true"),
            ("HELPLINE__SIP__RING_TIMEOUT_SECONDS", "10"),
            ("HELPLINE__SIP__HUNT_SECONDS", "4"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_2_chooses_english_and_the_operator_who_speaks_it_rings_first() {
    let Some(app) = menu_app().await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    // Anna, available longest, speaks Italian only; Bruno speaks English too.
    let anna_port = free_port();
    let anna_phone = UdpSocket::bind(("127.0.0.1", anna_port)).await.unwrap();
    operator_with_phone(&app, "anna", anna_port).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let bruno_port = free_port();
    let bruno = operator_with_phone(&app, "bruno", bruno_port).await;
    manage::set_languages(&app.db, bruno, &SpokenLanguages::parse("it,en").unwrap())
        .await
        .unwrap();

    let ear = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sink = ear.local_addr().unwrap().port();
    let heard = tokio::spawn(listen(ear));
    let bruno_phone = sipp("phone_answer", None, bruno_port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let caller = trunk("trunk_menu_key", sip, sink);
    passed(bruno_phone, "bruno's phone").await;
    passed(caller, "the trunk's call with key 2").await;

    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}");
    assert_eq!(answered_by, Some(bruno));
    assert_eq!(
        events,
        ["offered", "menu", "queued", "ringing", "answered", "ended"]
    );
    assert_eq!(language_of_the_call(&app).await.as_deref(), Some("en"));
    let mut buf = [0u8; 2048];
    assert!(
        anna_phone.try_recv(&mut buf).is_err(),
        "Anna, who speaks no English, was not rung while Bruno's phone rang"
    );
    let samples = heard.await.unwrap();
    assert!(
        samples.len() >= 8000,
        "a second of prompt at least: {}",
        samples.len()
    );
    assert!(tone::rms(&samples) > 300.0, "the prompt is no silence");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_means_italian() {
    let Some(app) = menu_app().await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let anna_port = free_port();
    let anna = operator_with_phone(&app, "anna", anna_port).await;
    let ear = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sink = ear.local_addr().unwrap().port();
    let heard = tokio::spawn(listen(ear));
    let caller = trunk("trunk_menu_no_key", sip, sink);
    // The phone rings after the welcome, the menu and the wait (about 33 s): its sipp
    // starts later, within its own 30 s limit.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let anna_phone = sipp("phone_answer", None, anna_port);
    passed(caller, "the trunk's call without a key").await;
    passed(anna_phone, "anna's phone").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}");
    assert_eq!(answered_by, Some(anna));
    assert_eq!(language_of_the_call(&app).await.as_deref(), Some("it"));
    let samples = heard.await.unwrap();
    // The welcome and the whole menu: more than 25 s of audio.
    assert!(samples.len() > 25 * 8000, "{}", samples.len());
    assert!(tone::rms(&samples) > 300.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_sent_as_sip_info_chooses_too() {
    let Some(app) = menu_app().await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let port = free_port();
    let chloe = operator_with_phone(&app, "chloe", port).await;
    manage::set_languages(&app.db, chloe, &SpokenLanguages::parse("it,fr").unwrap())
        .await
        .unwrap();
    let ear = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sink = ear.local_addr().unwrap().port();
    let phone = sipp("phone_answer", None, port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let caller = trunk("trunk_menu_info", sip, sink);
    passed(phone, "chloe's phone").await;
    passed(caller, "the trunk's call with key 3 as SIP INFO").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}");
    assert_eq!(answered_by, Some(chloe));
    assert_eq!(language_of_the_call(&app).await.as_deref(), Some("fr"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_the_menu_does_not_offer_is_not_chosen() {
    // The menu offers Italian and English only: French's key 3 leaves Italian.
    let Some(app) = sip_app(
        Backend::Sqlite,
        &[
            ("HELPLINE__SIP__MENU", "true"),
            ("HELPLINE__SIP__MENU_LANGUAGES", "[\"it\", \"en\"]"),
        ],
    )
    .await
    else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let port = free_port();
    let anna = operator_with_phone(&app, "anna", port).await;
    let ear = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sink = ear.local_addr().unwrap().port();
    let phone = sipp("phone_answer", None, port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let caller = trunk("trunk_menu_info", sip, sink);
    passed(phone, "anna's phone").await;
    passed(caller, "the trunk's call with key 3 as SIP INFO").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}");
    assert_eq!(answered_by, Some(anna));
    assert_eq!(language_of_the_call(&app).await.as_deref(), Some("it"));
}

/// What the caller hears, as the μ-law bytes of the PCMU packets reaching `sink`, until
/// nothing has come for two seconds: prompts pass through unchanged, so a recording can
/// be found in it byte for byte.
async fn listen_raw(sink: UdpSocket) -> Vec<u8> {
    let mut audio = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(Ok(len)) = tokio::time::timeout(Duration::from_secs(2), sink.recv(&mut buf)).await
    {
        if len > 12 && buf[1] & 0x7f == 0 {
            audio.extend_from_slice(&buf[12..len]);
        }
    }
    audio
}

/// Whether the first `n` bytes of `clip` were heard, in one piece.
fn heard_clip(audio: &[u8], clip: &[u8], n: usize) -> bool {
    let n = n.min(clip.len());
    audio.windows(n).any(|w| w == &clip[..n])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_hold_the_caller_hears_music_then_busy_and_the_place_in_the_queue() {
    use helpline::telephony::media::prompts::{self, Language, Prompt};
    let Some(app) = sip_app(
        Backend::Sqlite,
        &[
            ("HELPLINE__SIP__MENU", "true"),
            ("HELPLINE__SIP__RING_TIMEOUT_SECONDS", "30"),
            ("HELPLINE__SIP__HOLD_ANNOUNCE_AFTER_SECONDS", "2"),
        ],
    )
    .await
    else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let anna_port = free_port();
    operator_with_phone(&app, "anna", anna_port).await;
    let ear = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sink = ear.local_addr().unwrap().port();
    let heard = tokio::spawn(listen_raw(ear));
    // Anna's phone rings and is never picked up; the caller gives up after 10 s.
    let anna_phone = sipp("phone_cancelled", None, anna_port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let caller = trunk("trunk_menu_hold", sip, sink);
    passed(caller, "the trunk's call on hold").await;
    passed(anna_phone, "anna's phone, cancelled").await;
    let (state, _, events) = the_call(&app).await;
    assert_eq!(state, CallState::Abandoned.as_str(), "{events:?}");
    assert_eq!(
        events,
        ["offered", "menu", "queued", "ringing", "abandoned"]
    );
    let audio = heard.await.unwrap();
    assert!(
        heard_clip(&audio, prompts::hold_music(), 1_600),
        "the hold music"
    );
    assert!(
        heard_clip(
            &audio,
            prompts::audio(Language::English, Prompt::BusyHold),
            1_600
        ),
        "all operators are busy, in English"
    );
    let [phrase, digit] = prompts::queue_position(Language::English, 1).unwrap();
    assert!(heard_clip(&audio, phrase, 1_600), "your place in the queue");
    assert!(heard_clip(&audio, digit, 800), "is one");
    assert!(
        !heard_clip(
            &audio,
            prompts::audio(Language::Italian, Prompt::BusyHold),
            1_600
        ),
        "not in Italian"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_line_says_so_with_the_emergency_number_and_leaves_a_callback() {
    use helpline::telephony::media::prompts::{self, Language, Prompt};
    let lines = crate::helpers::closed_line();
    let Some(app) = sip_app(Backend::Sqlite, &[("HELPLINE__LINES", lines.as_str())]).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    // An operator is available: the line being closed is what counts.
    let anna_port = free_port();
    let anna_phone = UdpSocket::bind(("127.0.0.1", anna_port)).await.unwrap();
    operator_with_phone(&app, "anna", anna_port).await;
    let ear = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sink = ear.local_addr().unwrap().port();
    let heard = tokio::spawn(listen_raw(ear));
    let caller = trunk("trunk_closed", sip, sink);
    passed(caller, "the trunk's call to a closed line").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Missed.as_str(), "{events:?}");
    assert_eq!(answered_by, None);
    assert_eq!(events, ["offered", "missed"]);
    let reason: Option<String> = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select reason from call_events where state = 'missed'"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(reason.as_deref(), Some("line_closed"));
    // The callback task is left just after the record is closed.
    let mut callbacks = 0i64;
    for _ in 0..100 {
        callbacks = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
            "select count(*) from callbacks"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        if callbacks > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(callbacks, 1, "a callback task for the caller's number");
    let mut buf = [0u8; 2048];
    assert!(anna_phone.try_recv(&mut buf).is_err(), "no phone rang");
    let audio = heard.await.unwrap();
    for language in [Language::Italian, Language::English] {
        let closed = prompts::audio(language, Prompt::Closed);
        assert!(heard_clip(&audio, closed, 1_600), "{language:?} message");
        // The message ends with the emergency number: its last second is heard too.
        assert!(
            audio
                .windows(8_000)
                .any(|w| w == &closed[closed.len() - 8_000..]),
            "{language:?} message to the end"
        );
    }
}

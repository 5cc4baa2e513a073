//! Audio through the relay with a real softphone at each end: baresip registers as the
//! operator's phone (digest credentials) and answers by itself; another baresip plays the
//! trunk and calls the help-line. Each sends a tone for a few seconds; each end's own
//! recording of what it sent and what it received counts the audio both ways.

use std::path::{Path, PathBuf};
use std::time::Duration;

use helpline::auth::Role;
use helpline::calls::CallState;
use helpline::telephony::sip::bindings;

use crate::console_client::{Console, PASSWORD};
use crate::helpers::Backend;
use crate::sip_calls::{free_port, sip_app, the_call};

/// A port free for UDP and TCP on 127.0.0.1, with the next one free for TCP: baresip
/// listens on the port for UDP and TCP and on the next one for TLS, and gives up
/// altogether when any of them is taken.
pub(crate) fn free_sip_port() -> u16 {
    loop {
        let port = free_port();
        let tcp_free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if port < u16::MAX && tcp_free(port) && tcp_free(port + 1) {
            return port;
        }
    }
}

/// A baresip configuration: headless (ALSA's null device plays, a sine wave of `tone`
/// Hz speaks), PCMU, every call's audio written to `dir/rec` in both directions.
pub(crate) fn baresip_config(
    dir: &Path,
    sip_port: u16,
    rtp_from: u16,
    tone: u32,
    account: &str,
) -> PathBuf {
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let config = format!(
        "poll_method epoll\n\
         sip_listen 127.0.0.1:{sip_port}\n\
         net_interface 127.0.0.1\n\
         audio_player alsa,null\n\
         audio_alert alsa,null\n\
         audio_source ausine,{tone}\n\
         ausrc_srate 48000\n\
         auplay_srate 48000\n\
         ausrc_channels 2\n\
         rtp_ports {rtp_from}-{}\n\
         module_path /usr/lib/baresip/modules\n\
         module g711.so\n\
         module alsa.so\n\
         module ausine.so\n\
         module sndfile.so\n\
         module account.so\n\
         module menu.so\n\
         snd_path {}\n",
        rtp_from + 40,
        rec.display()
    );
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(dir.join("accounts"), format!("{account}\n")).unwrap();
    rec
}

pub(crate) fn baresip(dir: &Path, extra: &[&str]) -> Option<tokio::process::Child> {
    let mut cmd = tokio::process::Command::new("baresip");
    cmd.arg("-4")
        .arg("-f")
        .arg(dir)
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    match cmd.spawn() {
        Ok(c) => Some(c),
        Err(e) if std::env::var("CI").is_err() => {
            eprintln!("media test skipped: baresip not found ({e})");
            None
        }
        Err(e) => panic!("CI must have baresip (Debian baresip-core): {e}"),
    }
}

/// Anna, signed in and available on the board, her softphone's password set; her
/// console.
pub(crate) async fn anna_available_with_a_phone_password(app: &crate::helpers::TestApp) -> Console {
    app.token_for("anna", Role::Operator).await;
    bindings::set_password(&app.db, "anna", "helpline", "telefono-di-anna")
        .await
        .unwrap();
    let c = Console::new(app);
    c.sign_in("anna", PASSWORD).await;
    c.submit("/board", "/board/status", &[("status", "available")])
        .await;
    c
}

/// The user's id, and whether a phone of theirs registered within 30 s (a softphone
/// starting while the rest of the suite loads both cores can take a while).
pub(crate) async fn registered(app: &crate::helpers::TestApp, user: &str) -> (i64, bool) {
    let id = helpline::auth::users::find(&app.db, user).await.unwrap().id;
    for _ in 0..600 {
        if !bindings::bindings_of(&app.db, id, chrono::Utc::now())
            .await
            .unwrap()
            .is_empty()
        {
            return (id, true);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (id, false)
}

/// The first channel of the one WAV file of `dir` whose name ends with `suffix`, and
/// its rate. The samples run to the end of the file: sndfile may leave the data chunk's
/// size unset while writing.
pub fn wav(dir: &Path, suffix: &str) -> (u32, Vec<i16>) {
    let file = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no *{suffix} in {}", dir.display()));
    let data = std::fs::read(&file).unwrap();
    assert_eq!(&data[0..4], b"RIFF", "{}", file.display());
    let u16_at = |i: usize| u16::from_le_bytes([data[i], data[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let (channels, rate, bits) = (usize::from(u16_at(22)), u32_at(24), u16_at(34));
    assert_eq!(bits, 16, "{}", file.display());
    let samples = data[44..]
        .chunks_exact(2 * channels)
        .map(|frame| i16::from_le_bytes([frame[0], frame[1]]))
        .collect();
    (rate, samples)
}

/// Seconds of audio in the one WAV file of `dir` whose name ends with `suffix`.
fn seconds(dir: &Path, suffix: &str) -> f64 {
    let (rate, samples) = wav(dir, suffix);
    samples.len() as f64 / f64::from(rate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_softphone_call_carries_audio_both_ways_through_the_relay() {
    let Some(app) = sip_app(Backend::Sqlite, &[]).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let _console = anna_available_with_a_phone_password(&app).await;

    let tmp = tempfile::tempdir().unwrap();
    let (phone_dir, trunk_dir) = (tmp.path().join("phone"), tmp.path().join("trunk"));
    std::fs::create_dir_all(&phone_dir).unwrap();
    std::fs::create_dir_all(&trunk_dir).unwrap();
    let phone_rec = baresip_config(
        &phone_dir,
        free_sip_port(),
        41000,
        440,
        &format!(
            "<sip:anna@127.0.0.1:{};transport=udp>;auth_pass=telefono-di-anna;answermode=auto;regint=600;audio_codecs=PCMU",
            sip.port()
        ),
    );
    let trunk_rec = baresip_config(
        &trunk_dir,
        free_sip_port(),
        41100,
        440,
        "<sip:+390551234567@127.0.0.1;transport=udp>;regint=0;audio_codecs=PCMU,PCMA",
    );
    let Some(mut phone) = baresip(&phone_dir, &[]) else {
        return;
    };
    // The softphone registers through the digest challenge.
    let (anna, registered) = registered(&app, "anna").await;
    if !registered {
        phone.start_kill().ok();
        let out = phone.wait_with_output().await.unwrap();
        panic!(
            "baresip did not register as anna's phone within 15 s:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // The trunk calls and talks for about five seconds, then hangs up.
    let dial = format!("/dial sip:800186086@127.0.0.1:{}", sip.port());
    let trunk = baresip(&trunk_dir, &["-e", &dial, "-t", "6"]).expect("baresip");
    let out = tokio::time::timeout(Duration::from_secs(20), trunk.wait_with_output())
        .await
        .expect("the trunk's baresip ends by itself")
        .unwrap();
    let trunk_log = String::from_utf8_lossy(&out.stdout).to_string();
    let (state, answered_by, events) = the_call(&app).await;
    drop(phone);
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}\n{trunk_log}");
    assert_eq!(answered_by, Some(anna));
    assert!(trunk_log.contains("Call established"), "{trunk_log}");

    // What each end sent arrived at the other: the tone both ways, none of it lost
    // beyond the first and last packets of the call.
    let phone_sent = seconds(&phone_rec, "-enc.wav");
    let phone_heard = seconds(&phone_rec, "-dec.wav");
    let trunk_sent = seconds(&trunk_rec, "-enc.wav");
    let trunk_heard = seconds(&trunk_rec, "-dec.wav");
    eprintln!(
        "phone sent {phone_sent:.2} s, heard {phone_heard:.2} s; trunk sent {trunk_sent:.2} s, heard {trunk_heard:.2} s"
    );
    assert!(
        trunk_sent > 3.0 && phone_sent > 3.0,
        "a few seconds of talk"
    );
    assert!(
        phone_heard >= trunk_sent * 0.95,
        "caller → operator: {phone_heard:.2} s heard of {trunk_sent:.2} s sent"
    );
    assert!(
        trunk_heard >= phone_sent * 0.95,
        "operator → caller: {trunk_heard:.2} s heard of {phone_sent:.2} s sent"
    );
}

//! A mediator dialled into a call from the console, with three real softphones: baresip
//! as the trunk's caller (a 1 kHz tone), as the operator's phone (500 Hz) and as the
//! mediator's mobile reached through the outbound trunk (2 kHz). Each records what it
//! sent and what it heard; the mediator's request goes requested → ringing → joined →
//! left, and what each party heard holds the other two's tones and never its own.

use std::path::Path;
use std::time::Duration;

use helpline::telephony::media::tone;
use helpline::triage::mediation::{self, MediationState};

use crate::console_client::{location, Console, PASSWORD};
use crate::helpers::{Backend, TestApp};
use crate::sip_calls::{read_call, sip_app, the_call};
use crate::sip_media::{
    anna_available_with_a_phone_password, baresip, baresip_config, free_sip_port, registered, wav,
};

/// The mediator's number in the directory (the first Russian-speaking mediator).
const MEDIATOR: &str = "+393000000901";

/// The share of each 20 ms block's energy at `freq`, for the blocks that are not
/// silence.
fn shares(rate: u32, samples: &[i16], freq: f64) -> Vec<f64> {
    samples
        .chunks_exact((rate / 50) as usize)
        .filter(|b| tone::rms(b) >= tone::SILENCE_RMS)
        .map(|b| tone::tone_share_at(b, freq, rate))
        .collect()
}

/// How many 20 ms blocks of what `dir`'s party heard carry `freq` clearly, and the
/// largest share of `freq` in any block.
fn heard(dir: &Path, freq: f64) -> (usize, f64) {
    let (rate, samples) = wav(dir, "-dec.wav");
    let s = shares(rate, &samples, freq);
    let clear = s.iter().filter(|x| **x >= tone::PRESENT).count();
    (clear, s.iter().copied().fold(0.0, f64::max))
}

async fn mediation_state(app: &TestApp, id: i64) -> MediationState {
    mediation::get(&app.db, id).await.unwrap().state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mediator_joins_the_call_each_party_hears_the_other_two_and_never_itself() {
    let mediator_port = free_sip_port();
    let outbound = format!("udp:127.0.0.1:{mediator_port}");
    let Some(app) = sip_app(Backend::Sqlite, &[("HELPLINE__SIP__OUTBOUND", &outbound)]).await
    else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let c = anna_available_with_a_phone_password(&app).await;

    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = ["phone", "trunk", "mediator"]
        .iter()
        .map(|d| tmp.path().join(d))
        .collect();
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap();
    }
    let (phone_dir, trunk_dir, mediator_dir) = (&dirs[0], &dirs[1], &dirs[2]);
    let phone_rec = baresip_config(
        phone_dir,
        free_sip_port(),
        42000,
        500,
        &format!(
            "<sip:anna@127.0.0.1:{};transport=udp>;auth_pass=telefono-di-anna;answermode=auto;regint=600;audio_codecs=PCMU",
            sip.port()
        ),
    );
    let trunk_rec = baresip_config(
        trunk_dir,
        free_sip_port(),
        42100,
        1000,
        "<sip:+390551234567@127.0.0.1;transport=udp>;regint=0;audio_codecs=PCMU",
    );
    // The mediator's mobile, reached through the "trunk": it takes any call to it.
    let mediator_rec = baresip_config(
        mediator_dir,
        mediator_port,
        42200,
        2000,
        &format!("<sip:{MEDIATOR}@127.0.0.1;transport=udp>;regint=0;answermode=auto;catchall=yes;audio_codecs=PCMU"),
    );
    let Some(phone) = baresip(phone_dir, &[]) else {
        return;
    };
    let mediator_phone = baresip(mediator_dir, &[]).expect("baresip");
    let (anna, registered) = registered(&app, "anna").await;
    assert!(registered, "baresip registered as anna's phone");

    // The caller talks for 16 s, then hangs up.
    let dial = format!("/dial sip:800186086@127.0.0.1:{}", sip.port());
    let trunk = baresip(trunk_dir, &["-e", &dial, "-t", "16"]).expect("baresip");
    // Anna opens the intake of the call, asks for a Russian mediator, and calls the one
    // on call into the call.
    let (page, request) = ask_for_a_mediator(&app, &c, 200).await;
    let (_, html) = c.get_text(&page).await;
    assert!(html.contains("id=\"mediation-dial\""), "{html}");
    let r = c
        .submit(&page, &format!("{page}/call"), &[("mediator", "")])
        .await;
    assert_eq!(location(&r), page, "{:?}", r.status());
    let mut joined = false;
    for _ in 0..400 {
        if mediation_state(&app, request).await == MediationState::Joined {
            joined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !joined {
        let m = mediation::get(&app.db, request).await.unwrap();
        let mut mediator_phone = mediator_phone;
        mediator_phone.start_kill().ok();
        let out = mediator_phone.wait_with_output().await.unwrap();
        panic!(
            "the mediator did not join within 20 s: {:?}\nthe mediator's softphone:\n{}{}",
            m.events,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Three-way talk for four seconds, then Anna drops the mediator.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, html) = c.get_text(&page).await;
    assert!(html.contains("id=\"mediation-drop\""), "{html}");
    let r = c.submit(&page, &format!("{page}/drop"), &[]).await;
    let (to, status) = (location(&r).to_string(), r.status());
    // A refusal says why (the call ended, no mediator on it, …).
    let body = r.text().await.unwrap_or_default();
    assert_eq!(to, page, "{status}: {body}");
    assert_eq!(mediation_state(&app, request).await, MediationState::Left);
    let m = mediation::get(&app.db, request).await.unwrap();
    let states: Vec<_> = m.events.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        states,
        [
            MediationState::Requested,
            MediationState::Ringing,
            MediationState::Joined,
            MediationState::Left
        ]
    );
    assert_eq!(m.mediator_code.as_deref(), Some("med-ru-1"));
    // Times in order: the request, the ring, the answer, the drop.
    assert!(m.events.windows(2).all(|w| w[0].2 <= w[1].2));

    // Dropping again: nobody is on the call any more.
    let r = c.submit(&page, &format!("{page}/drop"), &[]).await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Nessun mediatore è in chiamata"));

    let out = tokio::time::timeout(Duration::from_secs(30), trunk.wait_with_output())
        .await
        .expect("the trunk's baresip ends by itself")
        .unwrap();
    let trunk_log = String::from_utf8_lossy(&out.stdout).to_string();
    let (state, answered_by, events) = the_call(&app).await;
    drop(phone);
    drop(mediator_phone);
    assert_eq!(state, "ended", "{events:?}\n{trunk_log}");
    assert_eq!(answered_by, Some(anna));

    // Who heard what: each the other two, nobody themselves.
    let (caller, operator, mediator) = (1000.0, 500.0, 2000.0);
    let blocks = |dir: &Path, f: f64| heard(dir, f).0;
    let most = |dir: &Path, f: f64| heard(dir, f).1;
    eprintln!(
        "caller heard: op {:?} med {:?} self {:?}; operator heard: caller {:?} med {:?} self {:?}; mediator heard: caller {:?} op {:?} self {:?}",
        heard(&trunk_rec, operator), heard(&trunk_rec, mediator), heard(&trunk_rec, caller),
        heard(&phone_rec, caller), heard(&phone_rec, mediator), heard(&phone_rec, operator),
        heard(&mediator_rec, caller), heard(&mediator_rec, operator), heard(&mediator_rec, mediator),
    );
    // A second of a tone is 50 blocks; the mediator was on for about four seconds.
    assert!(blocks(&phone_rec, caller) >= 50, "1 kHz caller → operator");
    assert!(
        blocks(&mediator_rec, caller) >= 50,
        "1 kHz caller → mediator"
    );
    assert!(
        blocks(&trunk_rec, mediator) >= 50,
        "2 kHz mediator → caller"
    );
    assert!(
        blocks(&phone_rec, mediator) >= 50,
        "2 kHz mediator → operator"
    );
    assert!(blocks(&trunk_rec, operator) >= 50, "operator → caller");
    assert!(blocks(&mediator_rec, operator) >= 50, "operator → mediator");
    assert!(
        most(&trunk_rec, caller) < 0.05,
        "the caller never hears itself"
    );
    assert!(
        most(&phone_rec, operator) < 0.05,
        "the operator never hears itself"
    );
    assert!(
        most(&mediator_rec, mediator) < 0.05,
        "the mediator never hears itself"
    );
}

/// Once the SIP call is answered (polled `tries` times, 50 ms apart), the operator
/// signed in on `c` opens its intake and asks for a Russian mediator: the request's
/// page and id.
async fn ask_for_a_mediator(app: &TestApp, c: &Console, tries: usize) -> (String, i64) {
    let mut answered = false;
    for _ in 0..tries {
        if read_call_state(app).await.as_deref() == Some("answered") {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "answered: {:?}", read_call(app).await);
    let call: String = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select cast(id as text) from calls where channel = 'sip'"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    let intake = location(&c.get(&format!("/calls/{call}/intake")).await).to_string();
    let intake_id = intake.rsplit('/').next().unwrap().to_string();
    let r = c
        .submit(
            &format!("/intakes/{intake_id}/summary"),
            &format!("/intakes/{intake_id}/mediation"),
            &[("language", "ru")],
        )
        .await;
    let page = location(&r).to_string();
    let request = page.rsplit('/').next().unwrap().parse().unwrap();
    (page, request)
}

async fn read_call_state(app: &TestApp) -> Option<String> {
    helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select state from calls where channel = 'sip'"
    )
    .fetch_optional(pool)
    .await
    .unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mediator_who_does_not_answer_rings_out_and_the_request_is_unanswered() {
    use crate::sip_calls::{free_port, operator_with_phone, passed, sipp};
    let mediator_port = free_port();
    let outbound = format!("udp:127.0.0.1:{mediator_port}");
    let Some(app) = sip_app(
        Backend::Sqlite,
        &[
            ("HELPLINE__SIP__OUTBOUND", &outbound),
            ("HELPLINE__SIP__OVERFLOW_RING_SECONDS", "2"),
        ],
    )
    .await
    else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    let port = free_port();
    operator_with_phone(&app, "anna", port).await;
    let c = Console::new(&app);
    c.sign_in("anna", PASSWORD).await;
    let phone = sipp("phone_answer", None, port);
    // The mediator's phone rings and is never picked up: it is cancelled.
    let mediator = sipp("phone_cancelled", None, mediator_port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let trunk = sipp("trunk_call_eight_seconds", Some(sip), free_port());
    let (page, request) = ask_for_a_mediator(&app, &c, 100).await;
    let r = c
        .submit(&page, &format!("{page}/call"), &[("mediator", "med-ru-1")])
        .await;
    assert_eq!(location(&r), page);
    assert_eq!(
        mediation_state(&app, request).await,
        MediationState::Ringing
    );
    // A second mediator cannot be called while one rings.
    let r = c.submit(&page, &format!("{page}/call"), &[]).await;
    assert_eq!(r.status().as_u16(), 422, "the page offers no second call");
    // Refused by the call itself, which has a mediator's leg ringing.
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Un mediatore è già in chiamata o sta squillando")
            || body.contains("A mediator is already on the call or ringing"),
        "{body}"
    );
    passed(
        mediator,
        "the mediator's phone, cancelled after ringing out",
    )
    .await;
    // Recorded before the CANCEL went out, after the ring time.
    let m = mediation::get(&app.db, request).await.unwrap();
    assert_eq!(m.state, MediationState::Unanswered);
    let (rang, gave_up) = (m.events[1].2, m.events[2].2);
    assert!(
        gave_up - rang >= chrono::Duration::seconds(2),
        "rang for the ring time"
    );
    passed(trunk, "the trunk's call").await;
    passed(phone, "anna's phone").await;
    let (state, _, _) = the_call(&app).await;
    assert_eq!(state, "ended", "the call went on without the mediator");
}

//! A provider-hosted number, as the provider drives it: every webhook of a call posted
//! in turn (incoming, the menu's key, the dials, who answered, the end), each signed with
//! `X-Twilio-Signature` for the public URL as the provider would, and the call record and
//! the TwiML checked at each step; a wrong signature and a webhook posted twice too.

use helpline::auth::{manage, Role, SpokenLanguages};
use helpline::referral::notify::signature;

use crate::console_client::{Console, PASSWORD};
use crate::helpers::{Backend, TestApp};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const PUBLIC: &str = "https://helpline.example.org";
const CALLER: &str = "+390552345678";

async fn twilio_app(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut env = vec![
        ("HELPLINE__TWILIO__ENABLED", "true"),
        ("HELPLINE__TWILIO__AUTH_TOKEN", TOKEN),
        ("HELPLINE_PUBLIC_URL", PUBLIC),
        (
            "HELPLINE__TWILIO__OPERATORS",
            "[{user=\"anna\",target=\"client:anna\"},{user=\"bruno\",target=\"sip:bruno@pbx.example.org\"}]",
        ),
    ];
    env.extend_from_slice(extra);
    TestApp::spawn_with(backend, &env).await
}

/// Posts `params` to `path_and_query` signed as the provider signs: the public URL.
async fn post_signed(
    app: &TestApp,
    path_and_query: &str,
    params: &[(&str, &str)],
) -> (u16, String) {
    let sig = sign(path_and_query, params);
    post_with(app, path_and_query, params, Some(&sig)).await
}

/// The signature the provider sends with `params` posted to `path_and_query`.
fn sign(path_and_query: &str, params: &[(&str, &str)]) -> String {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    signature::expected_signature(TOKEN, &format!("{PUBLIC}{path_and_query}"), &owned)
}

async fn post_with(
    app: &TestApp,
    path_and_query: &str,
    params: &[(&str, &str)],
    signature: Option<&str>,
) -> (u16, String) {
    let mut req = app.client.post(app.url(path_and_query)).form(params);
    if let Some(s) = signature {
        req = req.header("X-Twilio-Signature", s);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// An operator marked available on the board, speaking `languages`.
async fn available(app: &TestApp, name: &str, languages: &str) -> i64 {
    app.token_for(name, Role::Operator).await;
    let c = Console::new(app);
    c.sign_in(name, PASSWORD).await;
    c.submit("/board", "/board/status", &[("status", "available")])
        .await;
    let id = helpline::auth::users::find(&app.db, name).await.unwrap().id;
    manage::set_languages(&app.db, id, &SpokenLanguages::parse(languages).unwrap())
        .await
        .unwrap();
    id
}

/// The provider's call: state, language, territory hint, and events (state, actor).
async fn record(
    app: &TestApp,
) -> (
    String,
    Option<String>,
    Option<String>,
    Vec<(String, Option<i64>)>,
) {
    helpline::with_db!(&app.db, |pool| {
        let (id, state, language, hint): (String, String, Option<String>, Option<String>) =
            sqlx::query_as(
                "select cast(id as text), state, language, territory_hint from calls where channel = 'cpaas'",
            )
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
        (state, language, hint, events)
    })
}

fn states(events: &[(String, Option<i64>)]) -> Vec<&str> {
    events.iter().map(|(s, _)| s.as_str()).collect()
}

/// The caller's number is nowhere in the database, in any form it could be written.
async fn number_not_stored(app: &TestApp) {
    let dump = crate::helpers::database_as_text(&app.db).await;
    for form in [CALLER, "390552345678", "0552345678"] {
        assert!(!dump.contains(form), "{form} stored");
    }
}

fn incoming(sid: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("CallSid", sid),
        ("From", CALLER),
        ("To", "+39800186086"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ]
}

async fn a_whole_call(backend: Backend) {
    let Some(app) = twilio_app(backend, &[("HELPLINE__SIP__MENU", "true")]).await else {
        return;
    };
    let anna = available(&app, "anna", "it").await;
    let bruno = available(&app, "bruno", "it,en").await;

    // The call arrives: a record, and the language menu.
    let (status, xml) = post_signed(&app, "/telephony/twilio/voice", &incoming("CA1")).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains(&format!("<Gather input=\"dtmf\" numDigits=\"1\" timeout=\"5\" action=\"{PUBLIC}/telephony/twilio/gather\" method=\"POST\">")), "{xml}");
    assert!(
        xml.contains("<Say language=\"it-IT\">Numero Verde Anti-Tratta."),
        "{xml}"
    );
    assert!(
        xml.contains("<Say language=\"en-GB\">For English, press 2.</Say>"),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<Redirect method=\"POST\">{PUBLIC}/telephony/twilio/gather</Redirect>"
        )),
        "{xml}"
    );
    let (state, _, hint, events) = record(&app).await;
    assert_eq!((state.as_str(), hint.as_deref()), ("menu", Some("FI")));
    assert_eq!(states(&events), ["offered", "menu"]);
    // The provider posts it again: the same TwiML, nothing recorded twice.
    let (_, again) = post_signed(&app, "/telephony/twilio/voice", &incoming("CA1")).await;
    assert_eq!(again, xml);
    assert_eq!(states(&record(&app).await.3), ["offered", "menu"]);
    // Key 2: English; Bruno, who speaks it, rings first.
    let mut gather = incoming("CA1");
    gather.push(("Digits", "2"));
    let (_, xml) = post_signed(&app, "/telephony/twilio/gather", &gather).await;
    let speakers = format!("{PUBLIC}/telephony/twilio/dial?step=speakers&amp;lang=en");
    assert!(
        xml.contains(&format!(
            "<Dial action=\"{speakers}\" method=\"POST\" timeout=\"8\">"
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "statusCallback=\"{PUBLIC}/telephony/twilio/status?user={bruno}\""
        )),
        "{xml}"
    );
    assert!(
        xml.contains(">sip:bruno@pbx.example.org</Sip></Dial>"),
        "{xml}"
    );
    assert!(!xml.contains("anna"), "{xml}");
    let (state, language, _, events) = record(&app).await;
    assert_eq!(
        (state.as_str(), language.as_deref()),
        ("ringing", Some("en"))
    );
    assert_eq!(states(&events), ["offered", "menu", "queued", "ringing"]);
    // The key posted again: the same Dial, and the record does not go round again.
    let (_, again) = post_signed(&app, "/telephony/twilio/gather", &gather).await;
    assert_eq!(again, xml);
    assert_eq!(
        states(&record(&app).await.3),
        ["offered", "menu", "queued", "ringing"]
    );

    // Bruno does not answer: Anna rings.
    let mut dialled = incoming("CA1");
    dialled.extend([
        ("DialCallStatus", "no-answer"),
        ("CallStatus", "in-progress"),
    ]);
    let (_, xml) = post_signed(
        &app,
        "/telephony/twilio/dial?step=speakers&lang=en",
        &dialled,
    )
    .await;
    assert!(
        xml.contains(&format!(
            "action=\"{PUBLIC}/telephony/twilio/dial?step=operators&amp;lang=en\""
        )),
        "{xml}"
    );
    assert!(xml.contains(">anna</Client></Dial>"), "{xml}");
    assert!(!xml.contains("bruno"), "{xml}");

    // Anna answers (her leg's callback), twice as a retry would.
    let answered = [
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("CallSid", "CA2"),
        ("ParentCallSid", "CA1"),
        ("CallStatus", "in-progress"),
        ("From", "+39800186086"),
        ("To", "client:anna"),
    ];
    let leg = format!("/telephony/twilio/status?user={anna}");
    for _ in 0..2 {
        let (status, _) = post_signed(&app, &leg, &answered).await;
        assert_eq!(status, 204);
    }
    let (state, _, _, events) = record(&app).await;
    assert_eq!(state, "answered");
    assert_eq!(events.last(), Some(&("answered".to_string(), Some(anna))));

    // The conversation ends: the Dial's outcome, then the call's own status.
    let mut done = incoming("CA1");
    done.extend([
        ("DialCallStatus", "completed"),
        ("CallStatus", "in-progress"),
    ]);
    let (_, xml) = post_signed(&app, "/telephony/twilio/dial?step=operators&lang=en", &done).await;
    assert!(xml.ends_with("<Response><Hangup/></Response>"), "{xml}");
    let mut over = incoming("CA1");
    over[4] = ("CallStatus", "completed");
    let (status, _) = post_signed(&app, "/telephony/twilio/status", &over).await;
    assert_eq!(status, 204);
    let (state, _, _, events) = record(&app).await;
    assert_eq!(state, "ended");
    assert_eq!(
        states(&events),
        ["offered", "menu", "queued", "ringing", "answered", "ended"]
    );
    number_not_stored(&app).await;

    // A wrong signature, or none: 403, counted, nothing recorded.
    let refused = "helpline_webhook_refused_total{hook=\"twilio_voice\"}";
    let refused_before = counter(&app, refused).await;
    let (status, _) = post_with(
        &app,
        "/telephony/twilio/voice",
        &incoming("CA9"),
        Some("bm90IGEgc2lnbmF0dXJl"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post_with(&app, "/telephony/twilio/voice", &incoming("CA9"), None).await;
    assert_eq!(status, 403);
    // Signed for another URL (a replay against another hook) is no better.
    let other = sign("/telephony/twilio/status", &incoming("CA9"));
    let (status, _) = post_with(
        &app,
        "/telephony/twilio/voice",
        &incoming("CA9"),
        Some(&other),
    )
    .await;
    assert_eq!(status, 403);
    let calls: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select count(*) from calls"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(calls, 1);
    // At least these three (the same test on the other backend may count at once).
    assert!(counter(&app, refused).await - refused_before >= 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_as_the_provider_posts_it_sqlite() {
    a_whole_call(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_as_the_provider_posts_it_postgres() {
    a_whole_call(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_answers_the_mobile_rings_then_the_caller_hears_closed_and_a_callback_waits() {
    let Some(app) = twilio_app(
        Backend::Sqlite,
        &[("HELPLINE__SIP__OVERFLOW_NUMBER", "+39 300 000 0001")],
    )
    .await
    else {
        return;
    };
    available(&app, "anna", "it").await;
    // No menu: the operators ring at once.
    let (_, xml) = post_signed(&app, "/telephony/twilio/voice", &incoming("CA5")).await;
    assert!(xml.contains(&format!("action=\"{PUBLIC}/telephony/twilio/dial?step=operators&amp;lang=\" method=\"POST\" timeout=\"20\"")), "{xml}");
    let mut dialled = incoming("CA5");
    dialled.extend([
        ("DialCallStatus", "no-answer"),
        ("CallStatus", "in-progress"),
    ]);
    let overflows = counter(&app, "helpline_cpaas_overflows_total").await;
    let (_, xml) = post_signed(
        &app,
        "/telephony/twilio/dial?step=operators&lang=",
        &dialled,
    )
    .await;
    assert!(xml.contains("timeout=\"30\""), "{xml}");
    // Posted again: the same Dial of the mobile, one overflow recorded and counted.
    let (_, again) = post_signed(
        &app,
        "/telephony/twilio/dial?step=operators&lang=",
        &dialled,
    )
    .await;
    assert_eq!(again, xml);
    assert_eq!(
        counter(&app, "helpline_cpaas_overflows_total").await - overflows,
        1.0
    );
    assert!(xml.contains(">+393000000001</Number></Dial>"), "{xml}");
    let (_, xml) = post_signed(&app, "/telephony/twilio/dial?step=mobile&lang=", &dialled).await;
    assert!(
        xml.contains(
            "<Say language=\"it-IT\">Il Numero Verde Anti-Tratta in questo momento è chiuso."
        ),
        "{xml}"
    );
    assert!(xml.contains("1 1 2"), "{xml}");
    assert!(xml.ends_with("<Hangup/></Response>"), "{xml}");
    let (state, _, _, events) = record(&app).await;
    assert_eq!(state, "missed");
    assert_eq!(
        states(&events),
        ["offered", "queued", "ringing", "overflowed", "missed"]
    );
    // The same outcome posted again changes nothing and leaves one callback task.
    post_signed(&app, "/telephony/twilio/dial?step=mobile&lang=", &dialled).await;
    assert_eq!(record(&app).await.3.len(), 5);
    assert_eq!(callbacks(&app).await, 1);
    // The callback task keeps the number sealed, never in clear.
    number_not_stored(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_who_hangs_up_while_it_rings_is_abandoned_and_off_means_not_found() {
    let Some(app) = twilio_app(Backend::Sqlite, &[]).await else {
        return;
    };
    available(&app, "anna", "it").await;
    // Posted twice, as the provider retries: the record rings once.
    for _ in 0..2 {
        let (_, xml) = post_signed(&app, "/telephony/twilio/voice", &incoming("CA7")).await;
        assert!(xml.contains("<Client"), "{xml}");
        assert_eq!(
            states(&record(&app).await.3),
            ["offered", "queued", "ringing"]
        );
    }
    let mut gone = incoming("CA7");
    gone[4] = ("CallStatus", "completed");
    let (status, _) = post_signed(&app, "/telephony/twilio/status", &gone).await;
    assert_eq!(status, 204);
    let (state, _, _, events) = record(&app).await;
    assert_eq!(state, "abandoned");
    assert_eq!(
        states(&events),
        ["offered", "queued", "ringing", "abandoned"]
    );

    // With the webhooks off, they do not exist.
    let Some(off) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (status, _) = post_signed(&off, "/telephony/twilio/voice", &incoming("CA8")).await;
    assert_eq!(status, 404);
}

/// The states and reasons of the record a CallSid names.
async fn events_of(app: &TestApp, sid: &str) -> Vec<(String, Option<String>)> {
    helpline::with_db!(&app.db, |pool| sqlx::query_as(
        "select e.state, e.reason from call_events e join cpaas_calls p on p.call_id = e.call_id \
         where p.call_sid = $1 order by e.seq",
    )
    .bind(sid)
    .fetch_all(pool)
    .await
    .unwrap())
}

fn step(state: &str, reason: Option<&str>) -> (String, Option<String>) {
    (state.to_string(), reason.map(str::to_string))
}

/// A counter's value on `/metrics` (0 before it is first counted). The recorder is the
/// process's, shared by every test running at once: compare before and after a step that
/// no other test makes.
async fn counter(app: &TestApp, series: &str) -> f64 {
    let text = app.metrics().await;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn callbacks(app: &TestApp) -> i64 {
    helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select count(*) from callbacks"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_to_ring_the_first_webhook_misses_the_call_and_leaves_one_callback() {
    let Some(app) = twilio_app(Backend::Postgres, &[]).await else {
        return;
    };
    // Nobody available and no on-call mobile: the closed-line message at once, and the
    // record opened, queued and missed in the same write.
    for _ in 0..2 {
        let (status, xml) = post_signed(&app, "/telephony/twilio/voice", &incoming("CA20")).await;
        assert_eq!(status, 200, "{xml}");
        assert!(
            xml.contains("<Say language=\"it-IT\">Il Numero Verde"),
            "{xml}"
        );
        assert!(xml.ends_with("<Hangup/></Response>"), "{xml}");
        assert_eq!(
            events_of(&app, "CA20").await,
            [
                step("offered", None),
                step("queued", Some("cpaas")),
                step("missed", Some("no_operator_available"))
            ]
        );
        // Posted again: the same answer, and still one callback task.
        assert_eq!(callbacks(&app).await, 1);
    }
    number_not_stored(&app).await;

    // A number that is not one of our lines: the provider is told to hang up, and the
    // record says why.
    let mut elsewhere = incoming("CA21");
    elsewhere[3] = ("To", "+39800999999");
    let (status, xml) = post_signed(&app, "/telephony/twilio/voice", &elsewhere).await;
    assert_eq!(
        (status, xml.ends_with("<Hangup/></Response>")),
        (200, true),
        "{xml}"
    );
    assert_eq!(
        events_of(&app, "CA21").await,
        [step("offered", None), step("failed", Some("unknown_line"))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_line_at_the_provider_says_so_and_leaves_a_callback() {
    let lines = crate::helpers::closed_line();
    let Some(app) = twilio_app(Backend::Sqlite, &[("HELPLINE__LINES", lines.as_str())]).await
    else {
        return;
    };
    // An operator is available: the line being closed is what counts.
    available(&app, "anna", "it").await;
    let closed = "helpline_cpaas_rejected_total{reason=\"line_closed\"}";
    let before = counter(&app, closed).await;
    let (status, xml) = post_signed(&app, "/telephony/twilio/voice", &incoming("CA30")).await;
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains("<Say language=\"en-GB\">The anti-trafficking"),
        "{xml}"
    );
    assert!(!xml.contains("<Dial"), "{xml}");
    assert_eq!(
        events_of(&app, "CA30").await,
        [step("offered", None), step("missed", Some("line_closed"))]
    );
    assert_eq!(callbacks(&app).await, 1);
    // Posted again: the same answer, counted once.
    let (_, again) = post_signed(&app, "/telephony/twilio/voice", &incoming("CA30")).await;
    assert_eq!(again, xml);
    assert_eq!(events_of(&app, "CA30").await.len(), 2);
    assert_eq!(callbacks(&app).await, 1);
    assert_eq!(counter(&app, closed).await - before, 1.0);
}

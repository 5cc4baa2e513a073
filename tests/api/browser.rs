//! The console in a real headless browser (Debian's chromium, driven through
//! chromedriver with WebDriver): what an operator does during a call.
//!
//! Needs `chromedriver` and `chromium` on PATH (`.ci/run` installs them). Without them
//! the tests say they are skipped, except in CI where they fail.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::console_client::PASSWORD;
use crate::helpers::{Backend, TestApp};

/// One chromedriver for the whole test binary.
struct Driver {
    url: String,
    _child: Child,
}

pub(crate) fn driver() -> Option<&'static str> {
    static DRIVER: OnceLock<Option<Driver>> = OnceLock::new();
    DRIVER
        .get_or_init(|| {
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let child = Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match child {
                Ok(c) => c,
                Err(e) => {
                    if std::env::var("CI").is_ok() {
                        panic!("CI must have chromedriver: {e}");
                    }
                    eprintln!("browser tests skipped: chromedriver not found ({e})");
                    return None;
                }
            };
            // Wait until it listens.
            let started = Instant::now();
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "chromedriver did not start"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            Some(Driver {
                url: format!("http://127.0.0.1:{port}"),
                _child: child,
            })
        })
        .as_ref()
        .map(|d| d.url.as_str())
}

async fn browser() -> Option<Client> {
    let url = driver()?;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"] }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(url)
        .await
        .expect("a browser session");
    Some(client)
}

/// Waits until `css` matches (the page updates by itself); fails after 10 s.
pub(crate) async fn wait_for(b: &Client, css: &str) -> fantoccini::elements::Element {
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

pub(crate) async fn sign_in(b: &Client, app: &TestApp, user: &str) {
    b.goto(&app.url("/")).await.unwrap();
    assert!(b.current_url().await.unwrap().path().ends_with("/login"));
    b.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn choose(b: &Client, name: &str, value: &str) {
    b.find(Locator::Css(&format!(
        "input[name='{name}'][value='{value}']"
    )))
    .await
    .unwrap_or_else(|e| panic!("{name}={value}: {e}"))
    .click()
    .await
    .unwrap();
}

async fn select(b: &Client, name: &str, value: &str) {
    b.find(Locator::Css(&format!(
        "select[name='{name}'] option[value='{value}']"
    )))
    .await
    .unwrap_or_else(|e| panic!("{name}={value}: {e}"))
    .click()
    .await
    .unwrap();
}

async fn next(b: &Client) {
    b.find(Locator::Css("button[value='next']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_a_call_arrive_and_triages_a_minor_in_danger_as_p1() {
    let Some(b) = browser().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("service");
    sign_in(&b, &app, "operatrice").await;
    wait_for(&b, "#board").await;
    // Wait for the live connection before the call arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let call = app
        .open_call(&json!({"language": "en", "caller_number": "055 2345678"}))
        .await;
    let arrived = Instant::now();
    let row = wait_for(&b, &format!("tr[data-call='{call}']")).await;
    eprintln!("call on the board after {:?}", arrived.elapsed());
    assert!(row.text().await.unwrap().contains("FI"), "territory hint");
    let alert = b.find(Locator::Id("alert")).await.unwrap();
    assert!(
        alert.is_displayed().await.unwrap(),
        "an incoming call alerts visibly"
    );

    row.find(Locator::Css("a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, "input[name='relevance']").await;
    choose(&b, "relevance", "pertinent").await;
    next(&b).await;
    wait_for(&b, "input[name='caller_type']").await;
    choose(&b, "caller_type", "citizen").await;
    choose(&b, "reason", "report").await;
    next(&b).await;
    wait_for(&b, "input[name='danger']").await;
    choose(&b, "danger", "yes").await;
    next(&b).await;
    // The emergency path comes first.
    wait_for(&b, "input[name='emergency_situation']").await;
    choose(&b, "emergency_situation", "minor_involved").await;
    next(&b).await;
    wait_for(&b, "input[name='territory'], select[name='territory']").await;
    next(&b).await;
    wait_for(&b, "input[name='gender']").await;
    choose(&b, "minor", "yes").await;
    select(&b, "nationality", "RO").await;
    next(&b).await;
    // The triage is on the side of every step from now on (read it on the next step's
    // page, once that page has replaced this one).
    wait_for(&b, "input[name='exploitation']").await;
    let priority = wait_for(&b, "#priority").await;
    let text = priority.text().await.unwrap();
    assert!(text.starts_with("P1"), "{text}");
    assert!(text.contains("minore"), "{text}");
    assert!(text.contains("pericolo immediato"), "{text}");

    // Notes with a phone number are refused, and the message is shown.
    b.goto(&format!(
        "{}?step=notes",
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .split('?')
            .next()
            .unwrap()
    ))
    .await
    .unwrap();
    let notes = wait_for(&b, "textarea[name='notes']").await;
    notes
        .send_keys("La ragazza ha dato il numero +39 347 555 1234")
        .await
        .unwrap();
    next(&b).await;
    let errors = wait_for(&b, "#form-errors").await;
    assert!(errors.text().await.unwrap().contains("numero di telefono"));
    let kept = b
        .find(Locator::Css("textarea[name='notes']"))
        .await
        .unwrap();
    assert!(
        kept.prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("La ragazza"),
        "nothing typed is lost"
    );
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_switches_to_english_and_back() {
    let Some(b) = browser().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("service");
    sign_in(&b, &app, "operatrice").await;
    wait_for(&b, "#board").await;
    b.find(Locator::Css("a[href='/lang/en']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let h2 = wait_for(&b, "#calls-title").await;
    assert!(h2.text().await.unwrap().starts_with("Live calls"));
    assert_eq!(
        b.find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("en")
    );
    b.find(Locator::Css("a[href='/lang/it']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let h2 = wait_for(&b, "#calls-title").await;
    assert!(h2.text().await.unwrap().starts_with("Chiamate in corso"));
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_who_answers_a_phone_call_sees_its_intake_open() {
    use crate::sip_calls::{free_port, operator_with_phone, passed, sip_app, sipp};
    let Some(b) = browser().await else { return };
    let app = sip_app(Backend::Sqlite, &[]).await.expect("service");
    let sip = app.sip.expect("SIP endpoint");
    let port = free_port();
    operator_with_phone(&app, "anna", port).await;
    sign_in(&b, &app, "anna").await;
    wait_for(&b, "#board").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Anna's desk phone (sipp) answers the trunk's call: her console opens its intake.
    let phone = sipp("phone_answer", None, port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let trunk = sipp("trunk_call_long", Some(sip), free_port());
    let started = Instant::now();
    loop {
        let url = b.current_url().await.unwrap();
        if url.path().starts_with("/intakes/") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the intake never opened (still at {url})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("intake open {:?} after the call came in", started.elapsed());
    wait_for(&b, "input[name='relevance']").await;
    passed(phone, "anna's phone").await;
    passed(trunk, "the trunk's call").await;
    let bound: (String, String) = helpline::with_db!(&app.db, |pool| {
        sqlx::query_as(
        "select cast(i.call_id as text), c.channel from intakes i join calls c on c.id = i.call_id"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    });
    assert_eq!(bound.1, "sip", "the intake belongs to the phone call");
    b.close().await.unwrap();
}

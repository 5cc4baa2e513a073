//! Referral delivery: from the operator's "send" on the intake summary to the e-mail
//! accepted by a real SMTP server (aiosmtpd) and the SMS accepted by the (strict, local)
//! stand-in of the SMS provider; then escalation timing: how long after a step falls
//! due its notifications are handed over.
//!
//! ```sh
//! cargo bench --bench referral_delivery -- --referrals 200
//! HELPLINE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench --bench referral_delivery -- --backend postgres --referrals 200
//! ```
//! Options: `--referrals N` (default 200), `--workers N` (job workers, default 16 as in
//! the shipped configuration), `--backend sqlite|postgres`.
//! Needs Debian's python3-aiosmtpd. One referral at a time, so latency is what one
//! operator sees; the service runs in this process on its real HTTP port.

#[path = "support/service.rs"]
mod service;
#[path = "../tests/api/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use helpline::auth::{users, Role};
use helpline::config::Config;
use helpline::startup::Application;
use reqwest::redirect::Policy;
use secrecy::SecretString;
use service::{drop_db, fresh_db, hidden, nearest_rank, service_env, Backend};
use support::sms_provider::FakeSmsProvider;
use support::smtp::SmtpServer;
use tokio_util::sync::CancellationToken;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dcafef00dcafef00dcafef00dcafe";
const SENDER: &str = "+390550000000";
const PASSWORD: &str = "a long enough password";

fn report(what: &str, mut d: Vec<Duration>) {
    d.sort();
    println!(
        "{what}: n={} p50={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms",
        d.len(),
        nearest_rank(&d, 0.5).as_secs_f64() * 1e3,
        nearest_rank(&d, 0.9).as_secs_f64() * 1e3,
        nearest_rank(&d, 0.99).as_secs_f64() * 1e3,
        d.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
}

fn csrf_of(html: &str) -> String {
    hidden(html, "csrf").expect("csrf")
}

struct Console {
    client: reqwest::Client,
    base: String,
}

impl Console {
    async fn page(&self, path: &str) -> String {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.text().await.expect("body")
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    async fn step(&self, intake: &str, step: &str, fields: &[(&str, &str)]) {
        let html = self.page(&format!("{intake}?step={step}")).await;
        let (csrf, version) = (csrf_of(&html), hidden(&html, "version").expect("version"));
        let mut all = vec![("csrf", csrf.as_str()), ("version", version.as_str())];
        all.extend_from_slice(fields);
        let r = self.post(&format!("{intake}/steps/{step}"), &all).await;
        assert_eq!(r.status().as_u16(), 303, "{step}");
    }
}

/// A P1 intake ready to send; returns its path and the form to send it.
async fn p1_intake(c: &Console) -> (String, Vec<(String, String)>) {
    let html = c.page("/intakes/new").await;
    let r = c
        .post(
            "/intakes",
            &[("csrf", &csrf_of(&html)), ("source", "walk_in")],
        )
        .await;
    let intake = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    c.step(&intake, "relevance", &[("relevance", "pertinent")])
        .await;
    c.step(
        &intake,
        "caller",
        &[("caller_type", "victim"), ("reason", "help_exit")],
    )
    .await;
    c.step(&intake, "danger", &[("danger", "yes")]).await;
    c.step(
        &intake,
        "emergency",
        &[("emergency_situation", "shelter_tonight")],
    )
    .await;
    c.step(&intake, "place", &[("territory", "FI")]).await;
    let html = c.page(&format!("{intake}/summary")).await;
    let at = html
        .find("<option value=\"fi-pronta\" selected>")
        .expect("fi-pronta proposed");
    let row = html[..at]
        .rfind("name=\"unit_")
        .map(|i| html[i + 11..].split('"').next().unwrap_or("0").to_string())
        .expect("row");
    let form = vec![
        ("csrf".to_string(), csrf_of(&html)),
        ("send".to_string(), row),
    ];
    (intake, form)
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "not delivered within 30 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn main() {
    let mut referrals = 200usize;
    let mut postgres = false;
    let mut workers = 16usize;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--referrals" => {
                referrals = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--referrals N")
            }
            "--backend" => postgres = it.next().as_deref() == Some("postgres"),
            "--workers" => workers = it.next().and_then(|v| v.parse().ok()).expect("--workers N"),
            _ => {}
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(referrals, postgres, workers));
}

async fn run(referrals: usize, postgres: bool, workers: usize) {
    let smtp = SmtpServer::start().await;
    let sms = FakeSmsProvider::start(SID, TOKEN, SENDER).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = if postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let (url, drop_later) = fresh_db(backend, &dir, "delivery").await;
    let port = smtp.port().to_string();
    let workers = workers.to_string();
    // Port 0: the service listens where the system says.
    let mut env = service_env(&url, 0, "bench-key-bench-key-bench-key-bench-key");
    env.extend(
        [
            ("HELPLINE__JOBS__WORKERS", workers.as_str()),
            ("HELPLINE__NOTIFY__EMAIL__ENABLED", "true"),
            ("HELPLINE__NOTIFY__EMAIL__HOST", "127.0.0.1"),
            ("HELPLINE__NOTIFY__EMAIL__PORT", port.as_str()),
            ("HELPLINE__NOTIFY__EMAIL__SECURITY", "plain"),
            (
                "HELPLINE__NOTIFY__EMAIL__FROM",
                "Numero Verde <noreply@helpline.example>",
            ),
            ("HELPLINE__NOTIFY__SMS__ENABLED", "true"),
            ("HELPLINE__NOTIFY__SMS__BASE_URL", sms.base_url.as_str()),
            ("HELPLINE__NOTIFY__SMS__ACCOUNT_SID", SID),
            ("HELPLINE__NOTIFY__SMS__AUTH_TOKEN", TOKEN),
            ("HELPLINE__NOTIFY__SMS__FROM", SENDER),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let config = Config::load_from(&env).expect("config");
    let app = Application::build(config).await.expect("service");
    let base = format!("http://{}", app.addr());
    let db = app.state().db.clone();
    let clock = app.state().clock.clone();
    let jobs = app.state().jobs.clone();
    let stop = CancellationToken::new();
    let served = tokio::spawn({
        let stop = stop.clone();
        async move { app.run_until(stop).await.expect("service runs") }
    });
    users::add(
        &db,
        "operatrice",
        Role::Operator,
        &SecretString::from(PASSWORD.to_string()),
        false,
        Utc::now(),
    )
    .await
    .expect("operator");
    let c = Console {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client"),
        base,
    };
    let html = c.page("/login").await;
    c.post(
        "/login",
        &[
            ("csrf", &csrf_of(&html)),
            ("username", "operatrice"),
            ("password", PASSWORD),
        ],
    )
    .await;

    let (mut to_email, mut to_sms) = (Vec::new(), Vec::new());
    for n in 0..referrals {
        let (intake, form) = p1_intake(&c).await;
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let started = Instant::now();
        let r = c.post(&format!("{intake}/referrals"), &form).await;
        assert_eq!(r.status().as_u16(), 303);
        let (mut email_at, mut sms_at) = (None, None);
        wait_until(|| {
            if email_at.is_none() && smtp.messages().len() > n {
                email_at = Some(started.elapsed());
            }
            if sms_at.is_none() && sms.accepted().len() > n {
                sms_at = Some(started.elapsed());
            }
            email_at.is_some() && sms_at.is_some()
        })
        .await;
        to_email.push(email_at.unwrap_or_default());
        to_sms.push(sms_at.unwrap_or_default());
    }
    report("send → e-mail accepted by the SMTP server", to_email);
    report("send → SMS accepted by the provider", to_sms);

    // The last referral's jobs may still be committing after its messages arrived; a
    // jump of the clock past their lease would hand them to another worker, which
    // would send again (as a real lease expiry would). Let them finish first.
    loop {
        let queue = jobs.stats(clock.now()).await.expect("queue figures");
        if queue.running == 0 && queue.due == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    // Escalation timing: every chain's 5-minute step falls due at once when the clock
    // moves; measure from that moment to each step's SMS and e-mail.
    let before = sms.accepted().len();
    let mails_before = smtp.count();
    let due = Instant::now();
    clock.advance(chrono::Duration::minutes(5));
    let (mut lags, mut mail_lags) = (Vec::new(), Vec::new());
    wait_until(|| {
        let now = sms.accepted().len();
        while lags.len() < now - before {
            lags.push(due.elapsed());
        }
        let mails = smtp.count();
        while mail_lags.len() < mails - mails_before {
            mail_lags.push(due.elapsed());
        }
        now - before >= referrals && mails - mails_before >= referrals
    })
    .await;
    report(
        &format!("step due → SMS handed over ({referrals} steps due at once)"),
        lags,
    );
    report(
        &format!("step due → e-mail accepted ({referrals} steps due at once)"),
        mail_lags,
    );
    stop.cancel();
    let _ = served.await;
    drop_db(drop_later).await;
}

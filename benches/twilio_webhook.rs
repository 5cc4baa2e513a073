//! The incoming-call webhook of a provider-hosted number under an open-loop load: the
//! real service (`helpline serve`, a separate process on a fresh database) with the
//! Twilio-compatible webhooks on, `--operators` operators created with `helpline user
//! add`, each with a device at the provider (`client:opN`), signed in to the console and
//! marked available. Then `POST /telephony/twilio/voice` at a fixed rate (`--rate` per
//! second), each request a new call (its own CallSid, a varying Italian landline as
//! From, the help-line number as To), form-encoded and signed (`X-Twilio-Signature`) for
//! the public URL as the provider signs it. Each request is sent on schedule from its
//! own task, whatever the earlier ones are doing, and its latency runs from the time it
//! was due to the last byte of the answer: a stall shows as latency, not as a lower rate.
//! A request is good when it gets 200 and TwiML with the expected verb: `<Dial` (the
//! available operators rung together) or, with `--menu`, `<Gather` (the language menu).
//! Prints requests, achieved rate, p50, p90, p99, max, errors, p99 per 5-second window,
//! and the service's peak RSS.
//!
//! Beside the load, a probe on its own schedule (every 50 ms) measures what is not the
//! webhook's work: how late the bench's own timer wakes, and the latency of the
//! service's `/healthz` (no database, no work). Both are printed per window: a window
//! whose webhook tail rises with them is a stall of the whole machine.
//!
//! SQLite:     cargo bench --bench twilio_webhook -- --backend sqlite
//! PostgreSQL: HELPLINE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!             cargo bench --bench twilio_webhook -- --backend postgres
//! Options: --rate R (requests/s, default 200), --seconds S (measured phase, default 30),
//! --warmup-seconds W (load not recorded before the measured phase, default 3),
//! --operators N (available operators with a device, default 4; 0: nobody available,
//! the caller hears the closed-line message and a callback task is left), --menu (the
//! language menu on: `HELPLINE__SIP__MENU=true`, the answer is a Gather).

#[path = "support/service.rs"]
mod service;

use std::sync::Arc;
use std::time::Duration;

use helpline::referral::notify::signature::expected_signature;
use reqwest::redirect::Policy;
use reqwest::Client;
use service::{
    add_user, drop_db, free_port, fresh_db, hidden, location, mib, ms, percentile, run_ok,
    service_env, Backend, Service,
};
use tokio::time::Instant;

const PASSWORD: &str = "bench password, long enough";
const CALLER_HASH_KEY: &str = "bench-key-bench-key-bench-key-bench-key";
const AUTH_TOKEN: &str = "0123456789abcdef0123456789abcdef";
const PUBLIC_URL: &str = "https://helpline.example.org";
const HOOK: &str = "/telephony/twilio/voice";
const LINE: &str = "+39800186086";

struct Args {
    backend: Backend,
    rate: u64,
    seconds: u64,
    warmup_seconds: u64,
    operators: usize,
    menu: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        backend: Backend::Sqlite,
        rate: 200,
        seconds: 30,
        warmup_seconds: 3,
        operators: 4,
        menu: false,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| -> Result<u64, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{what} N"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--backend" => args.backend = Backend::parse(it.next().as_deref())?,
            "--rate" => args.rate = number(it.next(), "--rate")?,
            "--seconds" => args.seconds = number(it.next(), "--seconds")?,
            "--warmup-seconds" => args.warmup_seconds = number(it.next(), "--warmup-seconds")?,
            "--operators" => args.operators = number(it.next(), "--operators")? as usize,
            "--menu" => args.menu = true,
            // cargo bench passes --bench; anything else is a filter we do not use.
            _ => {}
        }
    }
    if args.rate == 0 || args.seconds == 0 {
        return Err("--rate and --seconds must be at least 1".into());
    }
    Ok(args)
}

/// Signs `username` in to the console and marks them available on the board.
async fn sign_in_available(base: &str, username: &str) {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client");
    let page = |path: &str| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move {
            let r = client.get(&url).send().await.expect("GET");
            assert_eq!(r.status(), 200, "GET {url}");
            r.text().await.expect("page")
        }
    };
    let post = |path: &str, fields: Vec<(&'static str, String)>| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move {
            let r = client.post(&url).form(&fields).send().await.expect("POST");
            (r.status(), location(&r))
        }
    };
    let csrf = hidden(&page("/login").await, "csrf").expect("csrf on the sign-in form");
    let (status, to) = post(
        "/login",
        vec![
            ("csrf", csrf),
            ("username", username.to_string()),
            ("password", PASSWORD.to_string()),
        ],
    )
    .await;
    assert_eq!(status, 303, "sign-in of {username} → {to}");
    let csrf = hidden(&page("/board").await, "csrf").expect("csrf on the board");
    let (status, to) = post(
        "/board/status",
        vec![("csrf", csrf), ("status", "available".to_string())],
    )
    .await;
    assert_eq!(status, 303, "{username} available → {to}");
}

/// One incoming call as the provider posts it: the form body and its signature.
fn incoming_call(n: u64) -> (String, String) {
    let params: Vec<(String, String)> = [
        (
            "AccountSid",
            "AC00000000000000000000000000000000".to_string(),
        ),
        ("ApiVersion", "2010-04-01".to_string()),
        ("CallSid", format!("CAbench{:032x}", n)),
        // Florentine landlines, a different one for most calls, some calling again.
        ("From", format!("+39055{:07}", (n * 7919) % 2_000_000)),
        ("To", LINE.to_string()),
        ("Called", LINE.to_string()),
        ("CallStatus", "ringing".to_string()),
        ("Direction", "inbound".to_string()),
        ("FromCountry", "IT".to_string()),
        ("ToCountry", "IT".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let signature = expected_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}{HOOK}"), &params);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    (body, signature)
}

/// The probe beside the load, from `from` to `until`: each 50 ms, how late the timer
/// woke, and (in its own task) how long `/healthz` took from when it was due.
async fn probe(
    client: Client,
    url: String,
    from: Instant,
    until: Instant,
) -> (Vec<(Instant, Duration)>, Vec<(Instant, Duration)>) {
    let step = Duration::from_millis(50);
    let (mut late, mut checks) = (Vec::new(), Vec::new());
    let mut due = from;
    while due < until {
        tokio::time::sleep_until(due).await;
        late.push((due, due.elapsed()));
        let (client, url) = (client.clone(), url.clone());
        checks.push(tokio::spawn(async move {
            let ok = matches!(client.get(&url).send().await, Ok(r) if r.status() == 200);
            ok.then(|| (due, due.elapsed()))
        }));
        due += step;
    }
    let mut health = Vec::new();
    for c in checks {
        if let Ok(Some(h)) = c.await {
            health.push(h);
        }
    }
    (late, health)
}

/// Each 5 s window's `p` quantile of `samples` (due, value) from `from`, in ms.
fn worst_per_window(samples: &[(Instant, Duration)], from: Instant, p: f64) -> String {
    let mut windows: Vec<Vec<Duration>> = Vec::new();
    for (due, d) in samples.iter().filter(|(due, _)| *due >= from) {
        let w = ((*due - from).as_secs() / 5) as usize;
        if windows.len() <= w {
            windows.resize(w + 1, Vec::new());
        }
        windows[w].push(*d);
    }
    windows
        .iter_mut()
        .map(|w| {
            w.sort_unstable();
            if w.is_empty() {
                "-".to_string()
            } else {
                format!("{:.1}", ms(percentile(w, p)))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What became of one request: when it was due, how long from then to its answer
/// (or why it failed).
struct Outcome {
    due: Instant,
    result: Result<Duration, String>,
}

async fn post_call(
    client: Client,
    url: Arc<str>,
    body: String,
    signature: String,
    due: Instant,
    verb: &'static str,
) -> Outcome {
    let sent = client
        .post(&*url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(body)
        .send()
        .await;
    let result = match sent {
        Ok(r) => {
            let status = r.status();
            match r.text().await {
                Ok(text) if status == 200 && text.contains(verb) => Ok(due.elapsed()),
                Ok(text) => Err(format!(
                    "{status}: {}",
                    text.chars().take(200).collect::<String>()
                )),
                Err(e) => Err(format!("{status}, body: {e}")),
            }
        }
        Err(e) => Err(format!("{e}")),
    };
    Outcome { due, result }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("twilio_webhook: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, drop_later) = fresh_db(args.backend, &dir, "twilio").await;
        let port = free_port();
        let names: Vec<String> = (1..=args.operators).map(|n| format!("op{n}")).collect();
        let targets = names
            .iter()
            .map(|n| format!("{{user=\"{n}\",target=\"client:{n}\"}}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut env = service_env(&url, port, CALLER_HASH_KEY);
        env.extend(
            [
                ("HELPLINE__TWILIO__ENABLED", "true".to_string()),
                ("HELPLINE__TWILIO__AUTH_TOKEN", AUTH_TOKEN.to_string()),
                ("HELPLINE_PUBLIC_URL", PUBLIC_URL.to_string()),
                ("HELPLINE__TWILIO__OPERATORS", format!("[{targets}]")),
                ("HELPLINE__SIP__MENU", args.menu.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
        );
        run_ok(&env, &["migrate"], "");
        for name in &names {
            add_user(&env, name, "operator", PASSWORD);
        }

        let service = Service::start(&env);
        let base = format!("http://127.0.0.1:{port}");
        service::wait_ready(&base, Duration::from_secs(20)).await;
        for name in &names {
            sign_in_available(&base, name).await;
        }
        let verb = match (args.menu, args.operators) {
            (true, _) => "<Gather",
            (false, 0) => "<Hangup",
            (false, _) => "<Dial",
        };

        // Every request made before the clock starts: the load is the service's work.
        let warmup = args.rate * args.warmup_seconds;
        let total = warmup + args.rate * args.seconds;
        let calls: Vec<(String, String)> = (0..total).map(incoming_call).collect();
        let client = Client::builder()
            .redirect(Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let hook: Arc<str> = format!("{base}{HOOK}").into();
        eprintln!(
            "twilio_webhook: {} operators available, menu {}; {} req/s for {}s (+{}s warm-up), \
             expecting {verb}",
            names.len(),
            if args.menu { "on" } else { "off" },
            args.rate,
            args.seconds,
            args.warmup_seconds
        );

        let rss_before = service.memory_kib("VmRSS");
        let interval = Duration::from_secs(1).as_nanos() as u64 / args.rate;
        let start = Instant::now() + Duration::from_millis(20);
        let measure_from = start + Duration::from_nanos(interval * warmup);
        let probe = tokio::spawn(probe(
            client.clone(),
            format!("{base}/healthz"),
            measure_from,
            start + Duration::from_nanos(interval * total),
        ));
        let mut tasks = Vec::with_capacity(calls.len());
        let mut late_max = Duration::ZERO;
        let mut last_sent = start;
        for (i, (body, signature)) in calls.into_iter().enumerate() {
            let due = start + Duration::from_nanos(interval * i as u64);
            tokio::time::sleep_until(due).await;
            late_max = late_max.max(due.elapsed());
            last_sent = Instant::now();
            tasks.push(tokio::spawn(post_call(
                client.clone(),
                hook.clone(),
                body,
                signature,
                due,
                verb,
            )));
        }
        let mut latencies = Vec::new();
        let mut answered = Vec::new();
        let (mut errors, mut first_error) = (0u64, None);
        for t in tasks {
            let o = t.await.expect("request task");
            if o.due < measure_from {
                continue;
            }
            match o.result {
                Ok(took) => {
                    answered.push((o.due, took));
                    latencies.push(took);
                }
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        let finished = Instant::now();
        let (timer_late, health) = probe.await.expect("probe task");
        // The achieved rate: the measured requests over the time it took to send them.
        let sent_over = last_sent + Duration::from_nanos(interval) - measure_from;
        let (rss_end, peak_rss) = (service.memory_kib("VmRSS"), service.memory_kib("VmHWM"));
        drop(service);

        println!(
            "backend={:?} operators={} menu={} rate={} measured={}s",
            args.backend, args.operators, args.menu, args.rate, args.seconds
        );
        latencies.sort_unstable();
        if latencies.is_empty() {
            println!("voice: no successful request, errors={errors}");
        } else {
            let l = &latencies;
            println!(
                "voice: requests={} sent req/s={:.1} answered req/s={:.1} p50={:.2}ms \
                 p90={:.2}ms p99={:.2}ms max={:.2}ms errors={errors}",
                l.len() as u64 + errors,
                (l.len() as u64 + errors) as f64 / sent_over.as_secs_f64(),
                l.len() as f64 / (finished - measure_from).as_secs_f64(),
                ms(percentile(l, 0.50)),
                ms(percentile(l, 0.90)),
                ms(percentile(l, 0.99)),
                ms(*l.last().expect("some requests")),
            );
        }
        if let Some(e) = &first_error {
            println!("voice: first error: {e}");
        }
        println!(
            "voice: p99 per 5 s window (ms): {}; latest send behind schedule {:.2}ms",
            worst_per_window(&answered, measure_from, 0.99),
            ms(late_max)
        );
        println!(
            "probe: /healthz p99 per window (ms): {}; bench timer latest wake per window (ms): {}",
            worst_per_window(&health, measure_from, 0.99),
            worst_per_window(&timer_late, measure_from, 1.0)
        );
        println!(
            "service memory: peak RSS (VmHWM) {}; RSS before the load {}, at the end {}",
            mib(peak_rss),
            mib(rss_before),
            mib(rss_end)
        );
        drop_db(drop_later).await;
    });
}

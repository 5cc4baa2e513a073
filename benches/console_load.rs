//! Operators' console under load: the real service (`helpline serve`, a separate process
//! on a fresh database) with `--operators` signed-in operators, each with a walk-in
//! intake open and in a loop: `GET /board`, then one intake step submitted as the
//! browser does it (`GET /intakes/{id}?step=caller` for the form, `POST
//! /intakes/{id}/steps/caller` with its CSRF token and version → 303), then a pause
//! of about `--think-ms`. Twenty seeded live calls give the board content. Prints, per
//! kind of request, requests, requests/s, p50, p90, p99, max and errors (any other
//! status than the expected one, or a failed request), and the service's peak RSS.
//!
//! SQLite:     cargo bench --bench console_load -- --backend sqlite
//! PostgreSQL: HELPLINE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!             cargo bench --bench console_load -- --backend postgres
//! Options: --operators N (default 100), --seconds S (measured phase, default 30),
//! --think-ms T (pause between an operator's iterations, uniformly 0.5–1.5 × T; default
//! 1000, an operator reading the page; 0 = every operator clicking without pause),
//! --warmup-seconds W (load not recorded before the measured phase, default 3),
//! --calls C (live calls seeded on the board, default 20).

#[path = "support/service.rs"]
mod service;

use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use service::{
    add_user, drop_db, free_port, fresh_db, hidden, location, mib, ms, percentile, run_ok,
    service_env, Backend, Service,
};

const PASSWORD: &str = "bench password, long enough";
const CALLER_HASH_KEY: &str = "bench-key-bench-key-bench-key-bench-key";
const KINDS: [&str; 3] = ["board GET", "step GET", "step POST"];

struct Args {
    backend: Backend,
    operators: usize,
    seconds: u64,
    warmup_seconds: u64,
    think_ms: u64,
    calls: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        backend: Backend::Sqlite,
        operators: 100,
        seconds: 30,
        warmup_seconds: 3,
        think_ms: 1000,
        calls: 20,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| -> Result<u64, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{what} N"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--backend" => args.backend = Backend::parse(it.next().as_deref())?,
            "--operators" => args.operators = number(it.next(), "--operators")? as usize,
            "--seconds" => args.seconds = number(it.next(), "--seconds")?,
            "--warmup-seconds" => args.warmup_seconds = number(it.next(), "--warmup-seconds")?,
            "--think-ms" => args.think_ms = number(it.next(), "--think-ms")?,
            "--calls" => args.calls = number(it.next(), "--calls")? as usize,
            // cargo bench passes --bench; anything else is a filter we do not use.
            _ => {}
        }
    }
    if args.operators == 0 || args.seconds == 0 {
        return Err("--operators and --seconds must be at least 1".into());
    }
    Ok(args)
}

/// One signed-in operator: their own cookie jar, no redirects followed.
struct Operator {
    client: Client,
    base: String,
    intake: String,
}

impl Operator {
    fn new(base: &str) -> Self {
        Self {
            client: Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .pool_max_idle_per_host(4)
                .build()
                .expect("client"),
            base: base.to_string(),
            intake: String::new(),
        }
    }

    async fn get(&self, path: &str) -> Result<(StatusCode, String), reqwest::Error> {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?;
        let status = r.status();
        Ok((status, r.text().await?))
    }

    async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<(StatusCode, String), reqwest::Error> {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await?;
        let (status, to) = (r.status(), location(&r));
        r.bytes().await?;
        Ok((status, to))
    }

    /// Signs in, then opens a walk-in intake.
    async fn sign_in_and_open_intake(&mut self, username: &str) {
        let (status, html) = self.get("/login").await.expect("GET /login");
        assert_eq!(status, 200, "GET /login");
        let csrf = hidden(&html, "csrf").expect("csrf on the sign-in form");
        let (status, to) = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", username),
                    ("password", PASSWORD),
                ],
            )
            .await
            .expect("POST /login");
        assert_eq!(status, 303, "sign-in of {username} → {to}");
        let (status, html) = self.get("/intakes/new").await.expect("GET /intakes/new");
        assert_eq!(status, 200, "GET /intakes/new");
        let csrf = hidden(&html, "csrf").expect("csrf on the new-intake form");
        let (status, to) = self
            .post("/intakes", &[("csrf", &csrf), ("source", "walk_in")])
            .await
            .expect("POST /intakes");
        assert_eq!(status, 303, "POST /intakes");
        assert!(to.starts_with("/intakes/"), "POST /intakes → {to}");
        self.intake = to;
    }
}

/// Latencies of one kind of request, and its errors.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

impl Samples {
    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }
}

/// One operator's loop until `end`; records only what starts after `measure_from`.
async fn operator_loop(
    op: Operator,
    n: usize,
    think_ms: u64,
    measure_from: Instant,
    end: Instant,
) -> [Samples; 3] {
    let mut samples: [Samples; 3] = Default::default();
    let think = |rng: &mut rand::rngs::ThreadRng| {
        Duration::from_micros(rng.gen_range(think_ms * 500..=think_ms * 1500))
    };
    // With a think time, operators start spread over one pause, not all at once.
    if think_ms > 0 {
        let pause = think(&mut rand::thread_rng());
        tokio::time::sleep(pause).await;
    }
    let step_url = format!("{}?step=caller", op.intake);
    let post_url = format!("{}/steps/caller", op.intake);
    let mut i = n;
    while Instant::now() < end {
        i += 1;
        let caller_type = if i % 2 == 0 { "victim" } else { "citizen" };

        let started = Instant::now();
        let board = op.get("/board").await;
        let took = started.elapsed();
        let record = started >= measure_from;
        let s = &mut samples[0];
        match board {
            Ok((StatusCode::OK, _)) => {
                if record {
                    s.latencies.push(took);
                }
            }
            Ok((status, _)) => s.error(format!("GET /board → {status}")),
            Err(e) => s.error(format!("GET /board: {e}")),
        }

        let started = Instant::now();
        let form = op.get(&step_url).await;
        let took = started.elapsed();
        let record = started >= measure_from;
        let s = &mut samples[1];
        let fields = match form {
            Ok((StatusCode::OK, html)) => {
                if record {
                    s.latencies.push(took);
                }
                let fields = hidden(&html, "csrf").zip(hidden(&html, "version"));
                if fields.is_none() {
                    s.error(format!("GET {step_url}: no csrf or version in the form"));
                }
                fields
            }
            Ok((status, _)) => {
                s.error(format!("GET {step_url} → {status}"));
                None
            }
            Err(e) => {
                s.error(format!("GET {step_url}: {e}"));
                None
            }
        };

        if let Some((csrf, version)) = fields {
            let started = Instant::now();
            let saved = op
                .post(
                    &post_url,
                    &[
                        ("csrf", &csrf),
                        ("version", &version),
                        ("caller_type", caller_type),
                        ("reason", "help_exit"),
                        ("go", "stay"),
                    ],
                )
                .await;
            let took = started.elapsed();
            let record = started >= measure_from;
            let s = &mut samples[2];
            match saved {
                Ok((StatusCode::SEE_OTHER, _)) => {
                    if record {
                        s.latencies.push(took);
                    }
                }
                Ok((status, _)) => s.error(format!("POST {post_url} → {status}")),
                Err(e) => s.error(format!("POST {post_url}: {e}")),
            }
        }

        if think_ms > 0 {
            let pause = think(&mut rand::thread_rng());
            tokio::time::sleep(pause).await;
        }
    }
    samples
}

/// Opens `count` live calls over the JSON API, in a mix of states.
async fn seed_calls(base: &str, token: &str, count: usize) {
    let client = Client::new();
    for i in 0..count {
        // A few numbers call more than once: the board shows repeat callers.
        let number = format!("+39 055 12345{:02}", i % 12);
        let r = client
            .post(format!("{base}/api/v1/calls"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "language": "it", "caller_number": number }))
            .send()
            .await
            .expect("POST /api/v1/calls");
        assert_eq!(r.status(), 201, "POST /api/v1/calls");
        let call: serde_json::Value = r.json().await.expect("call record");
        let id = call["id"].as_str().expect("call id").to_string();
        let path: &[&str] = match i % 4 {
            0 => &[],
            1 => &["menu", "queued"],
            2 => &["menu", "queued", "ringing"],
            _ => &["menu", "queued", "ringing", "answered"],
        };
        for state in path {
            let r = client
                .post(format!("{base}/api/v1/calls/{id}/events"))
                .bearer_auth(token)
                .json(&serde_json::json!({ "state": state }))
                .send()
                .await
                .expect("POST /api/v1/calls/{id}/events");
            assert!(
                r.status().is_success(),
                "call {id} → {state}: {}",
                r.status()
            );
        }
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("console_load: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, drop_later) = fresh_db(args.backend, &dir, "console").await;
        let port = free_port();
        let env = service_env(&url, port, CALLER_HASH_KEY);
        run_ok(&env, &["migrate"], "");

        let setup = Instant::now();
        let names: Vec<String> = (1..=args.operators).map(|n| format!("op{n:03}")).collect();
        for name in &names {
            add_user(&env, name, "operator", PASSWORD);
        }
        let token = run_ok(
            &env,
            &["token", "create", &names[0], "--label", "bench"],
            "",
        )
        .trim()
        .to_string();
        assert!(!token.is_empty(), "no token printed");

        let service = Service::start(&env);
        let base = format!("http://127.0.0.1:{port}");
        service::wait_ready(&base, Duration::from_secs(20)).await;

        seed_calls(&base, &token, args.calls).await;
        // Sign-in hashes the password (argon2id): a few at a time, as a shift starts.
        let mut operators = Vec::with_capacity(names.len());
        for chunk in names.chunks(4) {
            let signed_in = futures::future::join_all(chunk.iter().map(|name| {
                let base = base.clone();
                async move {
                    let mut op = Operator::new(&base);
                    op.sign_in_and_open_intake(name).await;
                    op
                }
            }))
            .await;
            operators.extend(signed_in);
        }
        eprintln!(
            "console_load: {} operators signed in, {} calls seeded in {:.1}s; load for {}s \
             (+{}s warm-up)",
            operators.len(),
            args.calls,
            setup.elapsed().as_secs_f64(),
            args.seconds,
            args.warmup_seconds
        );

        let rss_signed_in = service.memory_kib("VmRSS");
        let measure_from = Instant::now() + Duration::from_secs(args.warmup_seconds);
        let end = measure_from + Duration::from_secs(args.seconds);
        let think_ms = args.think_ms;
        let tasks: Vec<_> = operators
            .into_iter()
            .enumerate()
            .map(|(n, op)| tokio::spawn(operator_loop(op, n, think_ms, measure_from, end)))
            .collect();
        let mut all: [Samples; 3] = Default::default();
        for t in futures::future::join_all(tasks).await {
            for (into, from) in all.iter_mut().zip(t.expect("operator task")) {
                into.latencies.extend(from.latencies);
                into.errors += from.errors;
                if into.first_error.is_none() {
                    into.first_error = from.first_error;
                }
            }
        }
        // Requests that started in the measured phase may end a little after it.
        let measured = end.max(Instant::now()) - measure_from;
        let (rss_end, peak_rss) = (service.memory_kib("VmRSS"), service.memory_kib("VmHWM"));
        drop(service);

        println!(
            "backend={:?} operators={} think_ms={} measured={:.1}s",
            args.backend,
            args.operators,
            args.think_ms,
            measured.as_secs_f64()
        );
        for (kind, s) in KINDS.iter().zip(all.iter_mut()) {
            s.latencies.sort_unstable();
            let l = &s.latencies;
            if l.is_empty() {
                println!("{kind:>9}: no successful request, errors={}", s.errors);
            } else {
                println!(
                    "{kind:>9}: requests={} req/s={:.1} p50={:.2}ms p90={:.2}ms p99={:.2}ms \
                     max={:.2}ms errors={}",
                    l.len(),
                    l.len() as f64 / measured.as_secs_f64(),
                    ms(percentile(l, 0.50)),
                    ms(percentile(l, 0.90)),
                    ms(percentile(l, 0.99)),
                    ms(*l.last().expect("some requests")),
                    s.errors
                );
            }
            if let Some(e) = &s.first_error {
                println!("{kind:>9}: first error: {e}");
            }
        }
        println!(
            "service memory: peak RSS (VmHWM) {}; RSS after sign-in {}, at the end {}",
            mib(peak_rss),
            mib(rss_signed_in),
            mib(rss_end)
        );
        drop_db(drop_later).await;
    });
}

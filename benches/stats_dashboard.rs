//! The managers' dashboard over a large database: the real service (`helpline serve`, a
//! separate process) on a database filled by `helpline demo generate`, a manager signed
//! in, and `GET /stats` for a period (by default the whole of 2025) requested again and
//! again. Prints the first request (which counts again any day written since it was last
//! counted), then p50, p90, p99 and max of the others, and the service's memory.
//!
//! Fill the database once (a year, a million calls; see BENCHMARKS.md), then:
//!   cargo bench --bench stats_dashboard -- --database-url sqlite:///tmp/demo/helpline.db
//!   cargo bench --bench stats_dashboard -- --database-url postgres://postgres@127.0.0.1:5432/demo
//! Options: --from D --to D (default 2025-01-01, 2026-01-01), --territory T, --requests N
//! (default 30), --caller-hash-key K (the key the data was generated with; default the
//! one BENCHMARKS.md uses).

#[path = "support/service.rs"]
mod service;

use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use reqwest::Client;
use service::{add_user, free_port, hidden, nearest_rank, run_ok, service_env, Service};

const PASSWORD: &str = "bench password, long enough";

struct Args {
    database_url: String,
    from: String,
    to: String,
    territory: Option<String>,
    requests: usize,
    caller_hash_key: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        database_url: String::new(),
        from: "2025-01-01".into(),
        to: "2026-01-01".into(),
        territory: None,
        requests: 30,
        caller_hash_key: "bench-key-bench-key-bench-key-bench".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--database-url" => args.database_url = value()?,
            "--from" => args.from = value()?,
            "--to" => args.to = value()?,
            "--territory" => args.territory = Some(value()?),
            "--requests" => {
                args.requests = value()?.parse().map_err(|_| "--requests N".to_string())?
            }
            "--caller-hash-key" => args.caller_hash_key = value()?,
            // cargo bench passes --bench; anything else is a filter we do not use.
            _ => {}
        }
    }
    if args.database_url.is_empty() || args.requests == 0 {
        return Err("--database-url URL of a database filled by `helpline demo generate`".into());
    }
    Ok(args)
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("stats_dashboard: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let port = free_port();
        let env = service_env(&args.database_url, port, &args.caller_hash_key);
        run_ok(&env, &["migrate"], "");
        let manager = format!("statsbench{}", std::process::id());
        add_user(&env, &manager, "manager", PASSWORD);
        let service = Service::start(&env);
        let base = format!("http://127.0.0.1:{port}");
        let client = Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client");
        service::wait_ready(&base, Duration::from_secs(60)).await;
        let login = client
            .get(format!("{base}/login"))
            .send()
            .await
            .expect("GET /login")
            .text()
            .await
            .expect("sign-in page");
        let csrf = hidden(&login, "csrf").expect("csrf on the sign-in form");
        let r = client
            .post(format!("{base}/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", manager.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .expect("POST /login");
        assert_eq!(r.status(), 303, "sign-in");

        let mut url = format!("{base}/stats?from={}&to={}", args.from, args.to);
        if let Some(t) = &args.territory {
            url.push_str(&format!("&territory={t}"));
        }
        let get = || async {
            let started = Instant::now();
            let r = client.get(&url).send().await.expect("GET /stats");
            let status = r.status();
            let body = r.text().await.expect("the page");
            assert_eq!(status, 200, "GET /stats: {}", &body[..body.len().min(500)]);
            assert!(body.contains("<svg"), "the page has its charts");
            (
                started.elapsed(),
                body.len(),
                body.contains("id=\"stats-pending\""),
            )
        };
        // After a bulk load every day of the year is still to count: the page answers
        // within its budget and says so, the background task counts on. Wait for it.
        let loaded = Instant::now();
        let (mut first, mut size, mut pending) = get().await;
        let mut partial = 0;
        while pending {
            partial += 1;
            tokio::time::sleep(Duration::from_secs(2)).await;
            (first, size, pending) = get().await;
        }
        if partial > 0 {
            println!(
                "  {partial} pages showed days still to count; every day counted after {:.1} s",
                loaded.elapsed().as_secs_f64()
            );
        }
        let mut times = Vec::with_capacity(args.requests);
        for _ in 0..args.requests {
            times.push(get().await.0);
        }
        times.sort();
        let at = |p: f64| nearest_rank(&times, p);
        let kib = |field| {
            service
                .memory_kib(field)
                .map_or("?".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        };
        println!(
            "GET /stats {} to {}{} ({} KiB page)",
            args.from,
            args.to,
            args.territory
                .as_ref()
                .map_or(String::new(), |t| format!(" in {t}")),
            size / 1024
        );
        println!("  first complete page: {}", millis(first));
        println!(
            "  next {}: p50 {}, p90 {}, p99 {}, max {}",
            times.len(),
            millis(at(0.5)),
            millis(at(0.9)),
            millis(at(0.99)),
            millis(times[times.len() - 1])
        );
        println!(
            "  service memory: peak RSS (VmHWM) {}, RSS at the end {}",
            kib("VmHWM"),
            kib("VmRSS")
        );
    });
}

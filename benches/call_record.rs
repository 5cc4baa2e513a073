//! Call-record throughput: each simulated call opens a record and applies five
//! transitions (offered → menu → queued → ringing → answered → ended), every one its own
//! durable commit, with `--concurrency` calls in flight. Prints calls/s and the latency of
//! a whole call (p50, p99, max).
//!
//! SQLite:     cargo bench --bench call_record -- --backend sqlite
//! PostgreSQL: HELPLINE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!             cargo bench --bench call_record -- --backend postgres
//! Options: --calls N (default 20000), --concurrency C (default 32), --connections N
//! (database pool size, default 16 as `database.max_connections`).

#[path = "support/service.rs"]
mod service;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use helpline::calls::{CallLog, CallState, CallerFingerprint, Channel, NewCall, Transition};
use helpline::config::Config;
use helpline::db::Db;
use service::{drop_db, fresh_db, ms, percentile, Backend};

const STEPS: [CallState; 5] = [
    CallState::Menu,
    CallState::Queued,
    CallState::Ringing,
    CallState::Answered,
    CallState::Ended,
];

struct Args {
    backend: Backend,
    calls: usize,
    concurrency: usize,
    connections: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        backend: Backend::Sqlite,
        calls: 20_000,
        concurrency: 32,
        connections: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--backend" => args.backend = Backend::parse(it.next().as_deref())?,
            "--connections" => {
                args.connections = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--connections N")?
            }
            "--calls" => args.calls = it.next().and_then(|v| v.parse().ok()).ok_or("--calls N")?,
            "--concurrency" => {
                args.concurrency = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--concurrency C")?
            }
            // cargo bench passes --bench; anything else is a filter we do not use.
            _ => {}
        }
    }
    Ok(args)
}

/// The database at `url`, migrated, with a pool of `max_connections`.
async fn connect(url: String, max_connections: u32) -> Db {
    let env = vec![
        (
            "HELPLINE_CONFIG".to_string(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/helpline.toml").to_string(),
        ),
        ("DATABASE_URL".to_string(), url),
        (
            "HELPLINE__DATABASE__MAX_CONNECTIONS".to_string(),
            max_connections.to_string(),
        ),
    ];
    let cfg = Config::load_from(&env).expect("config");
    let backend = cfg.database_backend().expect("database backend");
    let db = Db::connect(&cfg.database, backend).await.expect("connect");
    db.migrate().await.expect("migrate");
    db
}

async fn one_call(log: &CallLog, n: usize) -> Duration {
    let started = Instant::now();
    let new = NewCall {
        channel: Channel::Sip,
        line: Some("800186086".into()),
        caller: CallerFingerprint {
            hash: Some(format!("{n:064x}")),
            territory_hint: Some("FI".into()),
        },
        language: Some("it".into()),
        opened_by: None,
    };
    let id = log.open(new, Utc::now()).await.expect("open");
    for to in STEPS {
        let t = Transition {
            to,
            at: Utc::now(),
            reason: None,
            actor_user_id: None,
        };
        log.transition(id, t).await.expect("transition");
    }
    started.elapsed()
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("call_record: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, drop_later) = fresh_db(args.backend, &dir, "call_record").await;
        let db = connect(url, args.connections).await;
        let log = CallLog::start(&db).expect("call log");
        // Warm-up: fill the pool and the caches.
        for n in 0..200 {
            one_call(&log, n).await;
        }
        let log = Arc::new(log);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..args.concurrency {
            let (log, next, total) = (log.clone(), next.clone(), args.calls);
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= total {
                        return lat;
                    }
                    lat.push(one_call(&log, 1_000 + n).await);
                }
            }));
        }
        let mut latencies = Vec::with_capacity(args.calls);
        for t in tasks {
            latencies.extend(t.await.expect("task"));
        }
        let elapsed = started.elapsed();
        latencies.sort_unstable();
        println!(
            "backend={:?} calls={} concurrency={} elapsed={:.2}s calls/s={:.0} transitions/s={:.0} \
             call p50={:.2}ms p99={:.2}ms max={:.2}ms",
            args.backend,
            latencies.len(),
            args.concurrency,
            elapsed.as_secs_f64(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            latencies.len() as f64 * 6.0 / elapsed.as_secs_f64(),
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().expect("some calls")),
        );
        db.close().await;
        drop_db(drop_later).await;
    });
}

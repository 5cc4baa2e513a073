//! What the benches that run the real service share: a fresh database, its environment,
//! running `helpline` commands, the service process and its memory, reading pages, and
//! summing up latencies.
#![allow(dead_code)] // each bench uses its own part

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The environment of every `helpline` process of the bench.
pub fn service_env(database_url: &str, port: u16, caller_hash_key: &str) -> Vec<(String, String)> {
    [
        (
            "HELPLINE_CONFIG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/helpline.toml"),
        ),
        (
            "HELPLINE__DIRECTORY__PATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/directory.toml"),
        ),
        ("HELPLINE__PRIVACY__CALLER_HASH_KEY", caller_hash_key),
        ("HELPLINE__LOG__LEVEL", "warn"),
        ("HELPLINE_HTTP_ADDR", &format!("127.0.0.1:{port}")),
        ("DATABASE_URL", database_url),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub fn helpline(env: &[(String, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    // Nothing from the outer environment may steer the service.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("HELPLINE") || k == "DATABASE_URL")
    {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// Runs a `helpline` command to success with `stdin` as input; returns its output.
pub fn run_ok(env: &[(String, String)], args: &[&str], stdin: &str) -> String {
    let mut child = helpline(env, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run helpline");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait for helpline");
    assert!(
        out.status.success(),
        "helpline {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Adds the user `name` with `role` and `password` (`helpline user add`).
pub fn add_user(env: &[(String, String)], name: &str, role: &str, password: &str) {
    run_ok(
        env,
        &["user", "add", name, "--role", role],
        &format!("{password}\n"),
    );
}

/// The service process, killed when dropped (also on panic).
pub struct Service(pub Child);

impl Service {
    /// Starts `helpline serve`; its errors go to the bench's standard error.
    pub fn start(env: &[(String, String)]) -> Self {
        Service(
            helpline(env, &["serve"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the service"),
        )
    }

    /// A memory figure of the process in KiB: `VmHWM` (peak resident set) or `VmRSS`.
    pub fn memory_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// The `value` of the hidden input named `name` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\" value=\"");
    let rest = &html[html.find(&key)? + key.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Waits until the service at `base` answers `/readyz` with 200, for at most `within`;
/// panics otherwise (a bench without its service has nothing to measure).
pub async fn wait_ready(base: &str, within: std::time::Duration) {
    let probe = reqwest::Client::new();
    let started = std::time::Instant::now();
    while started.elapsed() < within {
        if let Ok(r) = probe.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the service did not become ready within {within:?}");
}

/// The database a bench runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the bench's temporary directory.
    Sqlite,
    /// A database created for the run on the server of `HELPLINE_BENCH_DATABASE_URL`.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`, as `--backend` says it.
    pub fn parse(s: Option<&str>) -> Result<Self, String> {
        match s {
            Some("sqlite") => Ok(Backend::Sqlite),
            Some("postgres") => Ok(Backend::Postgres),
            other => Err(format!("--backend sqlite|postgres, not {other:?}")),
        }
    }
}

/// A fresh database URL; for PostgreSQL also the (admin URL, name) to drop it afterwards
/// with [`drop_db`]. `bench` names the database (`helpline_<bench>_bench_<pid>`).
pub async fn fresh_db(
    backend: Backend,
    dir: &tempfile::TempDir,
    bench: &str,
) -> (String, Option<(String, String)>) {
    match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
        Backend::Postgres => {
            let admin = std::env::var("HELPLINE_BENCH_DATABASE_URL")
                .expect("set HELPLINE_BENCH_DATABASE_URL to a PostgreSQL database the bench may create databases from");
            let name = format!("helpline_{bench}_bench_{}", std::process::id());
            admin_execute(
                &admin,
                &[
                    &format!("drop database if exists {name}"),
                    &format!("create database {name}"),
                ],
            )
            .await;
            let url = format!(
                "{}/{name}",
                admin.rsplit_once('/').expect("URL with a database").0
            );
            (url, Some((admin, name)))
        }
    }
}

/// Drops the database [`fresh_db`] made on PostgreSQL.
pub async fn drop_db(drop_later: Option<(String, String)>) {
    if let Some((admin, name)) = drop_later {
        admin_execute(&admin, &[&format!("drop database {name} with (force)")]).await;
    }
}

/// Runs `statements` in turn on the PostgreSQL server of the admin URL `admin`.
async fn admin_execute(admin: &str, statements: &[&str]) {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin)
        .await
        .expect("connect");
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

/// The `p` quantile of `sorted` (ascending, not empty): the sample at `len × p`, rounded
/// down.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// The `p` quantile of `sorted` (ascending, not empty) by the nearest rank: the sample at
/// `(len - 1) × p`, rounded.
pub fn nearest_rank(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A memory figure in KiB as MiB with one decimal, or `unknown`.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or("unknown".to_string(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    })
}

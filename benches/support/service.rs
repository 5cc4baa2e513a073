//! What the benches that run the real service share: a fresh database, its environment,
//! running `helpline` commands, the service process and its memory, and reading pages.
#![allow(dead_code)] // each bench uses its own part

use std::io::Write;
use std::process::{Child, Command, Stdio};

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

/// The service process, killed when dropped (also on panic).
pub struct Service(pub Child);

impl Service {
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
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("connect");
            sqlx::query(&format!("drop database if exists {name}"))
                .execute(&mut conn)
                .await
                .expect("drop");
            sqlx::query(&format!("create database {name}"))
                .execute(&mut conn)
                .await
                .expect("create");
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
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect");
        sqlx::query(&format!("drop database {name} with (force)"))
            .execute(&mut conn)
            .await
            .expect("drop");
    }
}

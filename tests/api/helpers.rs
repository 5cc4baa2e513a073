//! The test harness: a real service on port 0 over a fresh database, SQLite or
//! PostgreSQL, and a client that talks to it as any API client would.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::Utc;
use helpline::auth::{tokens, users, Role};
use helpline::config::Config;
use helpline::db::Db;
use helpline::startup::Application;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_admin_url: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// `None` for PostgreSQL when `HELPLINE_TEST_DATABASE_URL` is not set (the test is
    /// then skipped, and says so). In CI it is set and a missing server fails the test.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("helpline.db").display());
                Some(Self {
                    url,
                    _dir: Some(dir),
                    pg_admin_url: None,
                })
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var("HELPLINE_TEST_DATABASE_URL") else {
                    if std::env::var("CI").is_ok() {
                        panic!("CI must set HELPLINE_TEST_DATABASE_URL");
                    }
                    eprintln!("skipped on PostgreSQL: HELPLINE_TEST_DATABASE_URL is not set");
                    return None;
                };
                let name = format!(
                    "helpline_t_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    Utc::now().timestamp_subsec_nanos()
                );
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(&format!("create database {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .expect("database URL with a path");
                let url = format!("{base}/{name}");
                Some(Self {
                    url,
                    _dir: None,
                    pg_admin_url: Some((admin, name)),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_admin_url.take() {
            // Best effort, on a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                    {
                        let _ =
                            sqlx::query(&format!("drop database if exists {name} with (force)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Asks a child process to stop gracefully, as an init system would.
pub fn sigterm(child: &std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
}

/// Configuration for a test service on `db`, with extra `(VAR, value)` overrides.
pub fn test_config(db: &TestDb, extra: &[(&str, &str)]) -> Config {
    let mut env: Vec<(String, String)> = vec![
        (
            "HELPLINE_CONFIG".into(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/helpline.toml").into(),
        ),
        ("DATABASE_URL".into(), db.url.clone()),
        ("HELPLINE_HTTP_ADDR".into(), "127.0.0.1:0".into()),
        ("HELPLINE_SIP_ADDR".into(), "127.0.0.1:0".into()),
        (
            "HELPLINE__PRIVACY__CALLER_HASH_KEY".into(),
            "test-key-test-key-test-key-test-key".into(),
        ),
        (
            "HELPLINE__DIRECTORY__PATH".into(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/directory.toml").into(),
        ),
        ("HELPLINE__DATABASE__MAX_CONNECTIONS".into(), "5".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::load_from(&env).expect("test configuration")
}

/// A running service and a client for it.
pub struct TestApp {
    pub base: String,
    pub db: Db,
    /// The service's clock, to move time forward.
    pub clock: helpline::clock::Clock,
    /// The SIP endpoint (UDP and TCP), when enabled.
    pub sip: Option<std::net::SocketAddr>,
    pub client: reqwest::Client,
    pub token: String,
    stop: CancellationToken,
    served: Option<tokio::task::JoinHandle<()>>,
    extra: Vec<(String, String)>,
    _test_db: TestDb,
}

impl TestApp {
    /// Starts the service on a fresh database of `backend`, with an operator and a token.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Option<Self> {
        let test_db = TestDb::new(backend).await?;
        let app = Application::build(test_config(&test_db, extra))
            .await
            .expect("service builds");
        let base = format!("http://{}", app.addr());
        let sip = app.sip_addr();
        let db = app.state().db.clone();
        let clock = app.state().clock.clone();
        let stop = CancellationToken::new();
        let served = tokio::spawn({
            let stop = stop.clone();
            async move { app.run_until(stop).await.expect("service runs") }
        });
        let token = make_token(&db, "operatrice", Role::Operator).await;
        Some(Self {
            base,
            db,
            clock,
            sip,
            client: reqwest::Client::new(),
            token,
            stop,
            served: Some(served),
            extra: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            _test_db: test_db,
        })
    }

    /// Stops the service and starts a new one on the same database and configuration,
    /// its clock `ahead` of the wall clock (as a restart some time later would find it).
    pub async fn restart(&mut self, ahead: chrono::Duration) {
        self.stop.cancel();
        if let Some(served) = self.served.take() {
            served.await.expect("the service stopped");
        }
        let extra: Vec<(&str, &str)> = self
            .extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let app = Application::build(test_config(&self._test_db, &extra))
            .await
            .expect("service builds again");
        self.base = format!("http://{}", app.addr());
        self.sip = app.sip_addr();
        self.db = app.state().db.clone();
        self.clock = app.state().clock.clone();
        self.clock.advance(ahead);
        self.stop = CancellationToken::new();
        self.served = Some(tokio::spawn({
            let stop = self.stop.clone();
            async move { app.run_until(stop).await.expect("service runs") }
        }));
    }

    /// Moves the service's clock forward once no job is running or due: a jump past the
    /// lease of a running job would hand it to a second worker, which would send its
    /// message again (see `Clock::advance`). Fails after 15 s.
    pub async fn advance_when_settled(&self, by: chrono::Duration) {
        for _ in 0..300 {
            let stats = helpline::jobs::store::stats(&self.db, self.clock.now())
                .await
                .unwrap();
            if stats.running == 0 && stats.due == 0 {
                self.clock.advance(by);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the job queue never settled");
    }

    /// A token for a new user with `role`.
    pub async fn token_for(&self, username: &str, role: Role) -> String {
        make_token(&self.db, username, role).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs JSON with the operator's token; returns status and body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(&self.token, path, body).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The `/metrics` page as text (the recorder is the test process's, shared by every
    /// app running at once).
    pub async fn metrics(&self) -> String {
        let r = self.client.get(self.url("/metrics")).send().await;
        r.expect("request").text().await.expect("metrics text")
    }

    /// Opens a manual call; returns its id.
    pub async fn open_call(&self, body: &Value) -> String {
        let (status, call) = self.post("/api/v1/calls", body).await;
        assert_eq!(status, 201, "{call}");
        call["id"].as_str().expect("id").to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn make_token(db: &Db, username: &str, role: Role) -> String {
    let password = SecretString::from("a long enough password".to_string());
    let id = users::add(db, username, role, &password, false, Utc::now())
        .await
        .expect("user");
    tokens::create(db, id, "test", Utc::now())
        .await
        .expect("token")
        .0
        .expose_secret()
        .to_string()
}

/// Runs a test body on SQLite and on PostgreSQL: `both_backends!(name, |app| async { … })`
/// makes the tests `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) =
                    $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await
                {
                    ($body)(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) =
                    $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await
                {
                    ($body)(app).await;
                }
            }
        }
    };
}

/// The whole database as text, to search for what must never be stored: the SQLite
/// files themselves, byte for byte after a checkpoint (free pages and the WAL included),
/// or every PostgreSQL table row as text.
pub async fn database_as_text(db: &Db) -> String {
    match db {
        Db::Sqlite(pool) => {
            // Checkpoint so that nothing hides in memory, then read the files themselves
            // (free pages included).
            sqlx::query("pragma wal_checkpoint(truncate)")
                .execute(pool)
                .await
                .unwrap();
            let path = pool.connect_options().get_filename().to_path_buf();
            let mut text = String::new();
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let file = format!("{}{suffix}", path.display());
                if let Ok(bytes) = std::fs::read(&file) {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            text
        }
        Db::Postgres(pool) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "select table_name::text from information_schema.tables where table_schema = 'public'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            let mut text = String::new();
            for t in tables {
                let rows: Vec<Option<String>> =
                    sqlx::query_scalar(&format!("select t::text from \"{t}\" t"))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                for r in rows.into_iter().flatten() {
                    text.push_str(&r);
                    text.push('\n');
                }
            }
            text
        }
    }
}

/// A `helpline` process with the test configuration (or `config`) on the database at
/// `url`; nothing from the outer environment steers it.
pub fn helpline_process(url: &str, config: Option<&str>) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_helpline"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("HELPLINE") || k == "DATABASE_URL")
    {
        cmd.env_remove(k);
    }
    cmd.env(
        "HELPLINE_CONFIG",
        config.unwrap_or(concat!(env!("CARGO_MANIFEST_DIR"), "/config/helpline.toml")),
    )
    .env(
        "HELPLINE__DIRECTORY__PATH",
        concat!(env!("CARGO_MANIFEST_DIR"), "/config/directory.toml"),
    )
    .env(
        "HELPLINE__PRIVACY__CALLER_HASH_KEY",
        "test-key-test-key-test-key-test-key",
    )
    .env("DATABASE_URL", url);
    cmd
}

/// `HELPLINE__LINES` with the Tuscan line open for one minute twelve hours from now:
/// closed now, whatever the time the suite runs.
pub fn closed_line() -> String {
    let open_at =
        chrono::Utc::now().with_timezone(&chrono_tz::Europe::Rome) + chrono::Duration::hours(12);
    format!(
        "[{{number=\"800186086\",name=\"Numero Verde Anti-Tratta Toscana\",open=\"{}-{}\"}}]",
        open_at.format("%H:%M"),
        (open_at + chrono::Duration::minutes(1)).format("%H:%M")
    )
}

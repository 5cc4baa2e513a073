//! The command line as an administrator uses it.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::{sigterm, Backend, TestDb};

fn helpline(db: &TestDb, config: Option<&str>) -> Command {
    crate::helpers::helpline_process(&db.url, config)
}

fn with_stdin(mut cmd: Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Starts `helpline serve` on a free port and waits until it is ready; returns the
/// process (its log on a pipe) and its base URL.
async fn serve_until_ready(db: &TestDb) -> (Child, String) {
    let port = free_port();
    let mut server = helpline(db, None)
        .arg("serve")
        .env("HELPLINE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{url}/readyz")).send().await {
            if r.status() == 200 {
                return (server, url);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    panic!("the service did not become ready");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn an_admin_adds_a_user_and_a_token_that_opens_calls(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let mut add = helpline(&db, None);
    add.args(["user", "add", "giulia", "--role", "operator"]);
    let out = with_stdin(add, "una password lunga abbastanza\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("giulia"));

    let mut again = helpline(&db, None);
    again.args(["user", "add", "giulia", "--role", "operator"]);
    let out = with_stdin(again, "una password lunga abbastanza\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));

    let mut weak = helpline(&db, None);
    weak.args(["user", "add", "marco", "--role", "operator"]);
    let out = with_stdin(weak, "short\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));

    let mut bad_role = helpline(&db, None);
    bad_role.args(["user", "add", "marco", "--role", "boss"]);
    let out = with_stdin(bad_role, "una password lunga abbastanza\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));

    let out = helpline(&db, None)
        .args(["token", "create", "giulia", "--label", "test"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("hlp_"));

    let (server, url) = serve_until_ready(&db).await;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{url}/api/v1/calls"))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    sigterm(&server);
    let out = server.wait_with_output().unwrap();
    assert!(out.status.success());
    // Users already existed: no first admin was made.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("one-time password"));
}

#[tokio::test]
async fn an_admin_adds_a_user_and_a_token_that_opens_calls_sqlite() {
    an_admin_adds_a_user_and_a_token_that_opens_calls(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_admin_adds_a_user_and_a_token_that_opens_calls_postgres() {
    an_admin_adds_a_user_and_a_token_that_opens_calls(Backend::Postgres).await;
}

#[tokio::test]
async fn an_admin_says_on_the_command_line_which_languages_an_operator_speaks() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut add = helpline(&db, None);
    add.args(["user", "add", "irina", "--role", "operator"]);
    assert!(with_stdin(add, "una password lunga abbastanza\n")
        .status
        .success());
    let out = helpline(&db, None)
        .args(["user", "languages", "irina", "ro,IT"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("irina speaks it, ro"));
    let out = helpline(&db, None)
        .args(["user", "languages", "irina", "it,de"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown language `de`"), "{err}");
    let out = helpline(&db, None)
        .args(["user", "languages", "nobody", "it"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user `nobody`"));
}

#[tokio::test]
async fn the_first_start_creates_an_admin_and_says_how_to_sign_in() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let (server, _) = serve_until_ready(&db).await;
    sigterm(&server);
    let out = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("`admin`") && log.contains("one-time password"),
        "{log}"
    );
}

#[tokio::test]
async fn config_check_accepts_the_defaults_and_names_the_key_of_a_mistake() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let out = helpline(&db, None)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("configuration OK") && text.contains("10 territories"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[http]\naddr = \"not an address\"\n").unwrap();
    for args in [&["config", "check"][..], &["serve"][..]] {
        let out = helpline(&db, bad.to_str()).args(args).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("bad.toml") && err.contains("http.addr"),
            "{args:?}: {err}"
        );
    }

    let out = helpline(&db, None)
        .args(["config", "check"])
        .env("HELPLINE__JOBS__WORKERS", "many")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HELPLINE__JOBS__WORKERS") && err.contains("jobs.workers"),
        "{err}"
    );
}

#[tokio::test]
async fn an_in_memory_database_is_refused_because_records_must_survive_a_restart() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let out = helpline(&db, None)
        .arg("migrate")
        .env("DATABASE_URL", "sqlite::memory:")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("database.url") && err.contains("in-memory"),
        "{err}"
    );
}

#[tokio::test]
async fn request_logs_name_the_route_never_the_path_a_token_or_a_number_travels_in() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let port = free_port();
    let server = helpline(&db, None)
        .arg("serve")
        .env("HELPLINE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("HELPLINE__LOG__LEVEL", "debug,sqlx=warn,tower_http=debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{url}/readyz")).send().await {
            ready = r.status() == 200;
            if ready {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the service did not become ready");
    let token = "42.fi-pronta-1.2000000000.c2VjcmV0LXNpZ25hdHVyZQ";
    let r = client
        .get(format!("{url}/ack/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = client
        .post(format!("{url}/api/v1/calls"))
        .bearer_auth("hlp_not-a-real-token-but-secret")
        .json(&serde_json::json!({"caller_number": "+39 347 1234567"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    sigterm(&server);
    let out = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("/ack/{token}"),
        "requests are logged by route: {log}"
    );
    assert!(
        !log.contains("c2VjcmV0LXNpZ25hdHVyZQ"),
        "a link's token in the log"
    );
    assert!(
        !log.contains("hlp_not-a-real-token"),
        "an API token in the log"
    );
    assert!(!log.contains("1234567"), "a caller's number in the log");
}

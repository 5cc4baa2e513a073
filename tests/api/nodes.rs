//! Several real `helpline` processes on one database: every job runs exactly once, a
//! node killed with SIGKILL loses none, and SIGTERM gives claims back.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use helpline::db::Db;
use helpline::with_db;

use crate::helpers::{sigterm, test_config, Backend, TestDb};

/// Environment for a node process on `db`.
fn node_env(db: &TestDb, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        (
            "HELPLINE_CONFIG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/helpline.toml"),
        ),
        (
            "HELPLINE__DIRECTORY__PATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/directory.toml"),
        ),
        ("DATABASE_URL", db.url.as_str()),
        ("HELPLINE_HTTP_ADDR", "127.0.0.1:0"),
        (
            "HELPLINE__PRIVACY__CALLER_HASH_KEY",
            "test-key-test-key-test-key-test-key",
        ),
        ("HELPLINE__LOG__LEVEL", "warn"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn command(env: &[(String, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
    cmd.args(args);
    // Nothing from the outer environment may steer the node.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("HELPLINE") || k == "DATABASE_URL")
    {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

fn run_ok(env: &[(String, String)], args: &[&str]) -> String {
    let out = command(env, args).output().expect("run helpline");
    assert!(
        out.status.success(),
        "helpline {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn serve(env: &[(String, String)]) -> Child {
    command(env, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node")
}

async fn counts(db: &Db) -> (i64, i64, i64) {
    with_db!(db, |pool| {
        sqlx::query_as(
            "select (select count(*) from jobs where state = 'done'), \
                    (select count(*) from job_selftest_runs), \
                    (select count(distinct job_id) from job_selftest_runs)",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    })
}

async fn wait_for(db: &Db, what: &str, done_at_least: i64, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (done, _, _) = counts(db).await;
        if done >= done_at_least {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {done} done"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_nodes_run_1000_jobs_exactly_once_though_one_is_killed(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let env = node_env(
        &test_db,
        &[
            ("HELPLINE__JOBS__LEASE_SECONDS", "2"),
            ("HELPLINE__JOBS__WORKERS", "4"),
        ],
    );
    run_ok(&env, &["migrate"]);
    let cfg = test_config(&test_db, &[]);
    let db = Db::connect(&cfg.database, cfg.database_backend().unwrap())
        .await
        .unwrap();
    let mut a = serve(&env);
    let mut b = serve(&env);
    let a_pid = a.id();
    let queued = run_ok(
        &env,
        &["jobs", "selftest", "--count", "1000", "--work-ms", "10"],
    );
    assert!(queued.contains("queued 1000"), "{queued}");

    wait_for(&db, "a third of the jobs", 300, 60).await;
    a.kill().expect("SIGKILL node A");
    a.wait().expect("reap node A");
    let held_by_a: i64 = with_db!(&db, |pool| {
        sqlx::query_scalar(
            "select count(*) from jobs where state = 'running' and locked_by like $1",
        )
        .bind(format!("%-{a_pid}-%"))
        .fetch_one(pool)
        .await
        .unwrap()
    });
    eprintln!("node A killed holding {held_by_a} claimed jobs");

    wait_for(&db, "all jobs after the kill", 1000, 90).await;
    let (done, runs, distinct) = counts(&db).await;
    assert_eq!(
        (done, runs, distinct),
        (1000, 1000, 1000),
        "every job ran exactly once"
    );
    let nodes: Vec<(String, i64)> = with_db!(&db, |pool| {
        sqlx::query_as("select node, count(*) from job_selftest_runs group by node")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    eprintln!("runs by node: {nodes:?}");
    assert_eq!(nodes.len(), 2, "both nodes ran jobs: {nodes:?}");
    assert!(nodes.iter().any(|(n, _)| n.contains(&format!("-{a_pid}-"))));

    sigterm(&b);
    let status = b.wait().expect("node B exits");
    assert!(
        status.success(),
        "node B exits cleanly on SIGTERM: {status}"
    );
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_run_1000_jobs_exactly_once_though_one_is_killed_sqlite() {
    two_nodes_run_1000_jobs_exactly_once_though_one_is_killed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_run_1000_jobs_exactly_once_though_one_is_killed_postgres() {
    two_nodes_run_1000_jobs_exactly_once_though_one_is_killed(Backend::Postgres).await;
}

async fn sigterm_gives_back_claims_and_another_node_finishes_them(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let env = node_env(
        &test_db,
        &[
            ("HELPLINE__JOBS__SHUTDOWN_GRACE_MS", "300"),
            ("HELPLINE__JOBS__LEASE_SECONDS", "600"),
        ],
    );
    run_ok(&env, &["migrate"]);
    let cfg = test_config(&test_db, &[]);
    let db = Db::connect(&cfg.database, cfg.database_backend().unwrap())
        .await
        .unwrap();
    let mut node = serve(&env);
    run_ok(
        &env,
        &["jobs", "selftest", "--count", "4", "--work-ms", "30000"],
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let running: i64 = with_db!(&db, |pool| {
            sqlx::query_scalar("select count(*) from jobs where state = 'running'")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        if running == 4 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "jobs never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sigterm(&node);
    let status = node.wait().expect("node exits");
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    let released: Vec<(String, Option<String>)> = with_db!(&db, |pool| {
        sqlx::query_as("select state, locked_by from jobs")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert!(
        released.iter().all(|(s, l)| s == "pending" && l.is_none()),
        "claims given back: {released:?}"
    );
    assert_eq!(counts(&db).await.1, 0, "interrupted jobs left no effect");

    // A new node takes them at once, without waiting for the 10-minute lease.
    let env_fast = node_env(&test_db, &[]);
    run_ok(&env_fast, &["migrate"]);
    with_db!(&db, |pool| {
        sqlx::query("update jobs set payload = '{\"work_ms\":0}'")
            .execute(pool)
            .await
            .unwrap();
    });
    let mut next = serve(&env_fast);
    wait_for(&db, "the released jobs", 4, 30).await;
    assert_eq!(counts(&db).await, (4, 4, 4));
    next.kill().ok();
    next.wait().ok();
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_gives_back_claims_and_another_node_finishes_them_sqlite() {
    sigterm_gives_back_claims_and_another_node_finishes_them(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_gives_back_claims_and_another_node_finishes_them_postgres() {
    sigterm_gives_back_claims_and_another_node_finishes_them(Backend::Postgres).await;
}

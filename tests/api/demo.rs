//! Demo data as a manager trying the product makes it: `helpline demo generate` on an
//! empty database writes the calls asked for, each with a life the state machine allows,
//! no caller's number in clear, the intakes expected; a second run is refused.

use std::collections::HashSet;
use std::process::Command;

use chrono::{DateTime, NaiveDate, Utc};
use helpline::calls::CallState;
use helpline::db::Db;
use helpline::demo::calls::Generator;
use helpline::referral::Directory;

use crate::helpers::{database_as_text, Backend, TestDb};

const SEED: u64 = 7;
const CALLS: u64 = 2000;
const FROM: &str = "2025-01-01";
const TO: &str = "2025-12-31";

fn helpline(db: &TestDb) -> Command {
    crate::helpers::helpline_process(&db.url, None)
}

fn generate(db: &TestDb) -> std::process::Output {
    let (calls, seed) = (CALLS.to_string(), SEED.to_string());
    helpline(db)
        .args(["demo", "generate", "--calls", &calls, "--seed", &seed])
        .args(["--from", FROM, "--to", TO])
        .output()
        .expect("helpline runs")
}

async fn open(db: &TestDb, backend: Backend) -> Db {
    match backend {
        Backend::Sqlite => Db::Sqlite(sqlx::SqlitePool::connect(&db.url).await.unwrap()),
        Backend::Postgres => Db::Postgres(sqlx::PgPool::connect(&db.url).await.unwrap()),
    }
}

/// The digits of every number the run used, as they would appear if stored in clear.
fn numbers_used() -> HashSet<String> {
    let directory = Directory::load(
        std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/directory.toml"
        )),
        false,
    )
    .unwrap();
    let day = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let g = Generator::new(SEED, CALLS, day(FROM), day(TO), &directory, 6);
    let numbers: HashSet<String> = (0..CALLS)
        .filter_map(|i| g.plan(i).caller)
        .map(|n| n.chars().filter(char::is_ascii_digit).collect::<String>())
        .collect();
    // The national part too (without the country code), as an operator would type it.
    numbers
        .iter()
        .flat_map(|n| [n.clone(), n[2..].to_string(), n[n.len() - 9..].to_string()])
        .collect()
}

/// Every run of nine or more digits in the database's contents.
async fn digit_runs(db: &Db) -> HashSet<String> {
    let text = database_as_text(db).await;
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() >= 9)
        .map(str::to_string)
        .collect()
}

type EventRow = (String, i32, String, DateTime<Utc>);

async fn demo_data_is_realistic_anonymous_and_written_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let out = generate(&db);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2000 calls"), "{stdout}");
    let pool = open(&db, backend).await;

    let (calls, ended): (i64, i64) = helpline::with_db!(&pool, |p| {
        sqlx::query_as(
        "select count(*), coalesce(sum(case when state = 'ended' then 1 else 0 end), 0) from calls"
    )
    .fetch_one(p)
    .await
    .unwrap()
    });
    assert_eq!(calls, 2000);

    // Every call's events: numbered from 1, starting offered, each step allowed by the
    // state machine, in time order, and the call's state is its last event's.
    let events: Vec<EventRow> = helpline::with_db!(&pool, |p| {
        sqlx::query_as(
        "select e.call_id || '' as c, e.seq, e.state, e.at from call_events e order by c, e.seq"
    )
    .fetch_all(p)
    .await
    .unwrap()
    });
    let states: Vec<(String, String)> = helpline::with_db!(&pool, |p| sqlx::query_as(
        "select id || '' as c, state from calls order by c"
    )
    .fetch_all(p)
    .await
    .unwrap());
    let mut i = 0;
    for (id, state) in &states {
        let mut prev: Option<(CallState, DateTime<Utc>)> = None;
        let mut seq = 0;
        while i < events.len() && &events[i].0 == id {
            let (_, s, name, at) = &events[i];
            seq += 1;
            assert_eq!(*s, seq, "call {id}");
            let st: CallState = name.parse().unwrap();
            match prev {
                None => assert_eq!(st, CallState::Offered, "call {id}"),
                Some((from, last)) => {
                    assert!(from.can_become(st), "call {id}: {from} → {st}");
                    assert!(*at >= last, "call {id}: events out of order");
                }
            }
            prev = Some((st, *at));
            i += 1;
        }
        let (last, _) = prev.unwrap_or_else(|| panic!("call {id} has no events"));
        assert_eq!(last.as_str(), state, "call {id}");
        assert!(
            last.is_terminal() || last == CallState::Overflowed,
            "call {id} left {last}"
        );
    }
    assert_eq!(i, events.len(), "events of no call");

    // One intake in five answered calls, each on an answered call.
    let (intakes, on_ended): (i64, i64) = helpline::with_db!(&pool, |p| sqlx::query_as(
        "select count(*), coalesce(sum(case when c.state = 'ended' then 1 else 0 end), 0) \
         from intakes i join calls c on c.id = i.call_id"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(intakes, ended / 5);
    assert_eq!(on_ended, intakes);
    assert!(stdout.contains(&format!("intakes {intakes}")), "{stdout}");

    // Every answered call is closed with an outcome; a referral sent means the
    // outcome says so, and only then.
    let (closed, on_answered, sent, referred): (i64, i64, i64, i64) =
        helpline::with_db!(&pool, |p| sqlx::query_as(
            "select count(*), \
               coalesce(sum(case when c.state = 'ended' then 1 else 0 end), 0), \
               coalesce(sum(case when o.outcome = 'referral_sent' then 1 else 0 end), 0), \
               coalesce(sum(case when exists (select 1 from intakes i join referrals r \
                 on r.intake_id = i.id where i.call_id = c.id) then 1 else 0 end), 0) \
             from call_outcomes o join calls c on c.id = o.call_id"
        )
        .fetch_one(p)
        .await
        .unwrap());
    assert_eq!(closed, ended);
    assert_eq!(on_answered, ended);
    assert_eq!(sent, referred);
    assert!(sent > 0);

    // No number the run used is in the database in any form.
    let used = numbers_used();
    assert!(used.len() > 1000, "{}", used.len());
    let found: Vec<String> = digit_runs(&pool)
        .await
        .into_iter()
        .filter(|run| used.iter().any(|n| run.contains(n.as_str())))
        .collect();
    assert!(found.is_empty(), "numbers in clear: {found:?}");

    // A second run would mix with the first: refused, and nothing written.
    let again = generate(&db);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(
        stderr.contains("already holds 2000 calls") && stderr.contains("--force"),
        "{stderr}"
    );
    let calls: i64 =
        helpline::with_db!(&pool, |p| sqlx::query_scalar("select count(*) from calls")
            .fetch_one(p)
            .await
            .unwrap());
    assert_eq!(calls, 2000);
}

#[tokio::test]
async fn demo_data_is_realistic_anonymous_and_written_once_sqlite() {
    demo_data_is_realistic_anonymous_and_written_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn demo_data_is_realistic_anonymous_and_written_once_postgres() {
    demo_data_is_realistic_anonymous_and_written_once(Backend::Postgres).await;
}

//! When no operator takes a call: overflow through the trunk to the night operator's
//! mobile on call, and, when nobody answers there either, a callback task on the board
//! with the caller's number sealed, shown only to the operator who takes it, erased at
//! close or when the task expires. sipp plays the trunk (both directions) and the mobile.

use chrono::Utc;
use helpline::auth::{manage, Role};
use helpline::calls::CallState;
use helpline::referral::directory::EMBEDDED_DIRECTORY;
use helpline::referral::rota::{self, OverrideMode, RotaRole};
use helpline::referral::{Directory, Person, Target};

use crate::console_client::{csrf_of, location, Console, PASSWORD};
use crate::helpers::{Backend, TestApp};
use crate::sip_calls::{free_port, passed, sip_app, sipp, the_call};

/// The service with the trunk on 127.0.0.1, sending calls out to sipp on `out_port`.
async fn app(backend: Backend, out_port: u16, extra: &[(&str, &str)]) -> Option<TestApp> {
    let outbound = format!("udp:127.0.0.1:{out_port}");
    let mut env = vec![
        ("HELPLINE__SIP__RING_TIMEOUT_SECONDS", "2"),
        ("HELPLINE__SIP__OUTBOUND", outbound.as_str()),
    ];
    env.extend_from_slice(extra);
    sip_app(backend, &env).await
}

async fn events_with_reasons(app: &TestApp) -> Vec<(String, Option<String>, Option<i64>)> {
    helpline::with_db!(&app.db, |pool| sqlx::query_as(
        "select state, reason, actor_user_id from call_events order by seq"
    )
    .fetch_all(pool)
    .await
    .unwrap())
}

async fn night_operator_story(backend: Backend) {
    let out = free_port();
    let Some(app) = app(
        backend,
        out,
        &[("HELPLINE__SIP__OVERFLOW_NUMBER", "+39 300 000 0099")],
    )
    .await
    else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    // Nina is the night operator on call tonight; an admin gives her a work mobile in
    // the console. Nobody is at the console.
    app.token_for("nina", Role::Operator).await;
    app.token_for("amministratore", Role::Admin).await;
    let nina = manage::list(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "nina")
        .unwrap();
    let admin = Console::new(&app);
    admin.sign_in("amministratore", PASSWORD).await;
    let r = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{}", nina.id),
            &[
                ("role", "operator"),
                ("unit", ""),
                ("active", "1"),
                ("mobile", "300 000 00 77"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303, "mobile saved");
    let r = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{}", nina.id),
            &[
                ("role", "operator"),
                ("active", "1"),
                ("mobile", "not a number"),
            ],
        )
        .await;
    assert_eq!(
        r.status().as_u16(),
        422,
        "a mobile that is no number is refused"
    );
    let dir = Directory::parse(EMBEDDED_DIRECTORY, "test").unwrap();
    let now = Utc::now();
    rota::add_override(
        &app.db,
        &dir,
        &Target::NightOperators,
        &rota::Override {
            from: now - chrono::Duration::minutes(1),
            to: now + chrono::Duration::hours(8),
            person: Person::User(nina.id),
            role: RotaRole::Primary,
            mode: OverrideMode::Replace,
        },
        None,
        now,
    )
    .await
    .unwrap();

    // The mobile (sipp, reached "through the trunk") checks it is asked for Nina's
    // number and shown the line's, never the caller's.
    let mobile = sipp("mobile_answer", None, out);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let trunk = sipp("trunk_call", Some(sip), free_port());
    passed(mobile, "the on-call mobile").await;
    passed(trunk, "the trunk's call").await;
    let (state, answered_by, events) = the_call(&app).await;
    assert_eq!(state, CallState::Ended.as_str(), "{events:?}");
    assert_eq!(
        events,
        ["offered", "queued", "overflowed", "answered", "ended"]
    );
    assert_eq!(answered_by, Some(nina.id), "the record shows who answered");
    let reasons = events_with_reasons(&app).await;
    assert_eq!(reasons[2].1.as_deref(), Some("no_operator_available"));
    assert_eq!(reasons[3].1.as_deref(), Some("overflow_answered"));
    let tasks: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select count(*) from callbacks"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(tasks, 0, "an answered call leaves no callback task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_available_overflows_to_the_night_operator_on_call_sqlite() {
    night_operator_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_available_overflows_to_the_night_operator_on_call_postgres() {
    night_operator_story(Backend::Postgres).await;
}

async fn callback_story(backend: Backend) {
    let out = free_port();
    let Some(app) = app(
        backend,
        out,
        &[
            ("HELPLINE__SIP__OVERFLOW_NUMBER", "+39 300 000 0099"),
            ("HELPLINE__SIP__OVERFLOW_RING_SECONDS", "1"),
        ],
    )
    .await
    else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    // No night rota: the configured number rings, and nobody answers it.
    let mobile = sipp("phone_cancelled", None, out);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    passed(
        sipp("trunk_unanswered", Some(sip), free_port()),
        "480 to the trunk after the overflow",
    )
    .await;
    passed(mobile, "the configured mobile, rung then cancelled").await;
    let (state, _, events) = the_call(&app).await;
    assert_eq!(state, CallState::Missed.as_str(), "{events:?}");
    assert_eq!(events, ["offered", "queued", "overflowed", "missed"]);
    let reasons = events_with_reasons(&app).await;
    assert_eq!(reasons[3].1.as_deref(), Some("overflow_no_answer"));

    // The callback task holds the number sealed, nowhere in clear.
    let mut sealed: Option<(i64, Option<String>)> = None;
    for _ in 0..50 {
        sealed = helpline::with_db!(&app.db, |pool| sqlx::query_as(
            "select id, sealed_number from callbacks"
        )
        .fetch_optional(pool)
        .await
        .unwrap());
        if sealed.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (task, number) = sealed.expect("a callback task for the missed call");
    let number = number.expect("the number is sealed on the task");
    assert!(!number.contains("1234567") && !number.contains("055"));

    // On the board; Anna takes it and sees the number; Bruno cannot take it too.
    app.token_for("anna", Role::Operator).await;
    app.token_for("bruno", Role::Operator).await;
    let anna = Console::new(&app);
    anna.sign_in("anna", PASSWORD).await;
    let (status, board) = anna.get_text("/board").await;
    assert_eq!(status, 200);
    assert!(
        board.contains(&format!("href=\"/callbacks/{task}\"")),
        "{board}"
    );
    let (status, page) = anna.get_text(&format!("/callbacks/{task}")).await;
    assert_eq!(status, 200);
    assert!(
        !page.contains("1234567"),
        "no number before the task is taken"
    );
    let r = anna
        .submit(
            &format!("/callbacks/{task}"),
            &format!("/callbacks/{task}/claim"),
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), format!("/callbacks/{task}"));
    let (_, page) = anna.get_text(&format!("/callbacks/{task}")).await;
    assert!(page.contains("+39 055 1234567"), "{page}");
    let bruno = Console::new(&app);
    bruno.sign_in("bruno", PASSWORD).await;
    let r = bruno
        .submit(
            &format!("/callbacks/{task}"),
            &format!("/callbacks/{task}/claim"),
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("anna"));
    let (_, page) = bruno.get_text(&format!("/callbacks/{task}")).await;
    assert!(
        !page.contains("1234567"),
        "only the operator who took it sees the number"
    );
    // Anna's shift ends: a supervisor takes the callback over; Anna cannot take it back.
    app.token_for("sara", Role::Supervisor).await;
    let sara = Console::new(&app);
    sara.sign_in("sara", PASSWORD).await;
    let claim_page = format!("/callbacks/{task}");
    let claim = format!("/callbacks/{task}/claim");
    let r = sara.submit(&claim_page, &claim, &[]).await;
    assert_eq!(r.status().as_u16(), 303, "a supervisor may take it over");
    let (_, page) = anna.get_text(&claim_page).await;
    assert!(!page.contains("1234567"), "no longer Anna's");
    let r = anna.submit(&claim_page, &claim, &[]).await;
    assert_eq!(r.status().as_u16(), 409, "an operator cannot take it back");
    assert!(r.text().await.unwrap().contains("sara"));

    // Sara closes it: the number is erased, the board is clear, every step audited.
    let csrf = csrf_of(&sara.get_text(&format!("/callbacks/{task}")).await.1);
    let r = sara
        .post_form(
            &format!("/callbacks/{task}/close"),
            &[("csrf", &csrf), ("outcome", "nonsense")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422, "an unknown outcome is refused");
    let r = sara
        .post_form(
            &format!("/callbacks/{task}/close"),
            &[("csrf", &csrf), ("outcome", "reached")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (sealed, outcome): (Option<String>, Option<String>) =
        helpline::with_db!(&app.db, |pool| sqlx::query_as(
            "select sealed_number, outcome from callbacks where id = $1"
        )
        .bind(task)
        .fetch_one(pool)
        .await
        .unwrap());
    assert_eq!(sealed, None, "the number is erased at close");
    assert_eq!(outcome.as_deref(), Some("reached"));
    let (_, board) = anna.get_text("/board").await;
    assert!(!board.contains(&format!("/callbacks/{task}\"")));
    let (_, page) = anna.get_text(&format!("/callbacks/{task}")).await;
    assert!(page.contains("id=\"callback-closed\"") && !page.contains("1234567"));
    let actions: Vec<String> = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select action from audit_log where object_kind = 'callback' order by id"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    assert_eq!(
        actions,
        [
            "callback.claim",
            "callback.view_number",
            "callback.claim",
            "callback.view_number",
            "callback.close"
        ]
    );
    let log: Vec<String> = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select detail from audit_log"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    assert!(log.iter().all(|d| !d.contains("1234567")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_overflow_leaves_a_callback_task_sqlite() {
    callback_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_overflow_leaves_a_callback_task_postgres() {
    callback_story(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_callback_loses_its_number_when_it_expires() {
    // No overflow configured: nobody available means missed at once.
    let Some(app) = sip_app(Backend::Sqlite, &[]).await else {
        return;
    };
    let sip = app.sip.expect("SIP endpoint");
    passed(
        sipp("trunk_unanswered", Some(sip), free_port()),
        "480 to the trunk",
    )
    .await;
    let (state, _, events) = the_call(&app).await;
    assert_eq!(state, CallState::Missed.as_str(), "{events:?}");
    let open = || async {
        helpline::with_db!(&app.db, |pool| sqlx::query_as::<
            _,
            (Option<String>, Option<String>),
        >(
            "select sealed_number, outcome from callbacks"
        )
        .fetch_optional(pool)
        .await
        .unwrap())
    };
    let mut row = None;
    for _ in 0..50 {
        row = open().await;
        if row.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (sealed, outcome) = row.expect("a callback task");
    assert!(sealed.is_some() && outcome.is_none());
    // 72 hours later (the default retention) nobody has taken it: the number is gone.
    app.clock.advance(chrono::Duration::hours(73));
    let mut row = (sealed, outcome);
    for _ in 0..100 {
        row = open().await.unwrap();
        if row.1.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(row, (None, Some("expired".to_string())));
}

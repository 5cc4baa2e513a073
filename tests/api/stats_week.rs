//! A known week of calls, intakes, mediation requests and referrals for the report and
//! export tests, written through the library, and what its exports must hold.

use chrono::{DateTime, Duration, Utc};
use helpline::auth::{users, Role};
use helpline::calls::{CallLog, CallState};
use helpline::db::Db;
use helpline::referral::referrals::{self, NewReferral};
use helpline::triage::intakes::{self, Source};
use helpline::triage::mediation::{self, MediationState};
use helpline::triage::{Answer, Answers, Priority, Text, Triage};
use secrecy::SecretString;

use crate::console_client::PASSWORD;

/// Free text written into the intakes, which no export may carry.
pub const FREE_TEXT: [&str; 3] = ["NOTA-RISERVATA", "Pontedera", "dopo le diciotto"];

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a test time")
        .with_timezone(&Utc)
}

async fn someone(db: &Db) -> i64 {
    let id: Option<i64> = helpline::with_db!(db, |pool| {
        sqlx::query_scalar("select min(id) from users")
            .fetch_one(pool)
            .await
            .expect("users")
    });
    match id {
        Some(id) => id,
        None => users::add(
            db,
            "operatrice",
            Role::Operator,
            &SecretString::from(PASSWORD.to_string()),
            false,
            Utc::now(),
        )
        .await
        .expect("a user"),
    }
}

async fn intake(
    db: &Db,
    by: i64,
    at: &str,
    answers: &[(&str, &str)],
    types: &[&str],
    done: bool,
) -> i64 {
    let at = utc(at);
    let id = intakes::open(db, None, Source::WalkIn, by, at)
        .await
        .expect("intake opened");
    let mut a = Answers::default();
    for (q, v) in answers {
        a.set(*q, Answer::Choice(v.to_string()));
    }
    if !types.is_empty() {
        a.set(
            "exploitation",
            Answer::Choices(types.iter().map(|s| s.to_string()).collect()),
        );
    }
    if answers.contains(&("territory", "PI")) {
        a.set("notes", Answer::Text(FREE_TEXT[0].into()));
        a.set("municipality", Answer::Text(FREE_TEXT[1].into()));
        a.set("callback_time", Answer::Text(FREE_TEXT[2].into()));
    }
    let triage = Triage {
        priority: Priority::P3,
        reasons: vec![],
        services: vec![],
        safety: vec![],
        matched: vec![],
    };
    intakes::save(db, id, 1, &a, &triage, done, at + Duration::minutes(20))
        .await
        .expect("intake saved");
    id
}

/// `n` requests for `language` on `intake`, the first `joined` joined after `after` s.
async fn mediations(
    db: &Db,
    by: i64,
    intake: i64,
    language: &str,
    n: usize,
    joined: usize,
    after: i64,
) {
    let at = utc("2024-03-27T10:00:00Z");
    for i in 0..n {
        let id = mediation::request(db, None, Some(intake), language, by, at)
            .await
            .expect("mediation requested");
        if i < joined {
            for (state, s) in [
                (MediationState::Accepted, after / 2),
                (MediationState::Joined, after),
            ] {
                mediation::transition(db, id, state, Some("med-a"), by, at + Duration::seconds(s))
                    .await
                    .expect("mediation moved");
            }
        }
    }
}

async fn referral(db: &Db, by: i64, intake: i64, unit: &str, answer: Option<(bool, i64)>) {
    let at = utc("2024-03-28T10:00:00Z");
    let new = NewReferral {
        intake_id: intake,
        subject_id: None,
        unit_code: unit.into(),
        priority: Priority::P3,
        reason: Text::new("prova", "test"),
        exploitation: vec![],
        services: vec![],
        language: None,
        mediator_language: None,
        message: String::new(),
        created_by: by,
    };
    let id = referrals::create(db, &new, at)
        .await
        .expect("referral sent");
    if let Some((accepted, after)) = answer {
        referrals::answer(
            db,
            id,
            accepted,
            "contact:demo",
            "link",
            "",
            at + Duration::seconds(after),
        )
        .await
        .expect("referral answered");
    }
}

/// The week of 25–31 March 2024 on the Rome clock: five cases (four alike in Florence,
/// a minor in Pisa with free text), one intake not pertinent, a draft and a case the day
/// before; eight mediation requests (Nigerian Pidgin 4, English 3, Romanian 1), four
/// referrals, five calls.
pub async fn seed(db: &Db) {
    let by = someone(db).await;
    let florence = [
        ("relevance", "pertinent"),
        ("territory", "FI"),
        ("gender", "female"),
        ("minor", "no"),
        ("nationality", "NG"),
        ("caller_type", "client_friend_colleague"),
        ("reason", "report"),
    ];
    let mut fi = Vec::new();
    // The fourth is opened at 00:30 on the 29th in Rome (23:30 UTC on the 28th).
    for at in [
        "2024-03-25T09:00:00Z",
        "2024-03-26T09:00:00Z",
        "2024-03-27T09:00:00Z",
        "2024-03-28T23:30:00Z",
    ] {
        fi.push(intake(db, by, at, &florence, &["sexual_street"], true).await);
    }
    let pisa = intake(
        db,
        by,
        "2024-03-30T10:00:00Z",
        &[
            ("relevance", "pertinent"),
            ("territory", "PI"),
            ("gender", "male"),
            ("age_band", "14_17"),
            ("nationality", "RO"),
            ("caller_type", "police"),
            ("reason", "help_exit"),
        ],
        &["forced_labour", "labour_exploitation"],
        true,
    )
    .await;
    intake(
        db,
        by,
        "2024-03-31T10:00:00Z",
        &[("relevance", "not_pertinent")],
        &[],
        true,
    )
    .await;
    intake(
        db,
        by,
        "2024-03-26T12:00:00Z",
        &florence,
        &["begging"],
        false,
    )
    .await;
    intake(
        db,
        by,
        "2024-03-24T22:30:00Z",
        &florence,
        &["begging"],
        true,
    )
    .await;

    mediations(db, by, fi[0], "pcm", 4, 2, 60).await;
    mediations(db, by, fi[1], "en", 3, 3, 120).await;
    mediations(db, by, pisa, "ro", 1, 1, 300).await;

    referral(db, by, fi[0], "fi-pronta", Some((true, 600))).await;
    referral(db, by, fi[1], "fi-pronta", Some((true, 1200))).await;
    referral(db, by, fi[2], "fi-pronta", None).await;
    referral(db, by, pisa, "pi-pronta", Some((false, 300))).await;

    // Four answered (waits 10–40 s, talks 60–240 s; `a` calls twice), one abandoned.
    let log = CallLog::start(db).expect("call log");
    for (i, hash) in ["a", "b", "c", "a", "d"].iter().enumerate() {
        let n = i as i64 + 1;
        let steps = if i < 4 {
            vec![
                (CallState::Answered, 10 * n),
                (CallState::Ended, 10 * n + 60 * n),
            ]
        } else {
            vec![(CallState::Abandoned, 15)]
        };
        let at = (utc("2024-03-26T08:00:00Z") + Duration::hours(i as i64)).to_rfc3339();
        crate::stats::call(&log, Some(hash), Some("FI"), &at, &steps).await;
    }
}

/// The per-case CSV of [`seed`]'s week.
pub const CASES_CSV: &str = "n,date,territory,relevance,caller_type,reason,exploitation,gender,age_class,nationality,mediation_languages,referred,priority\r\n\
1,2024-03-25,FI,pertinent,client_friend_colleague,report,sexual_street,female,adult,NG,pcm,yes,P3\r\n\
2,2024-03-26,FI,pertinent,client_friend_colleague,report,sexual_street,female,adult,NG,en,yes,P3\r\n\
3,2024-03-27,FI,pertinent,client_friend_colleague,report,sexual_street,female,adult,NG,,yes,P3\r\n\
4,2024-03-29,FI,pertinent,client_friend_colleague,report,sexual_street,female,adult,NG,,no,P3\r\n\
5,2024-03-30,PI,pertinent,police,help_exit,forced_labour;labour_exploitation,male,minor,RO,ro,yes,P3\r\n\
6,2024-03-31,,not_pertinent,,,,,unknown,,,no,P3\r\n";

/// Lines every aggregates CSV of [`seed`]'s week has without suppression (Italian).
pub const AGGREGATES: [&str; 14] = [
    "section,key,label,count\r\n",
    "calls.outcome,answered,Risposte e concluse,4\r\n",
    "calls.outcome,abandoned,Abbandonate prima della risposta,1\r\n",
    "calls.callers,repeat,Chiamate da chi aveva già chiamato,1\r\n",
    "calls.times.measured,wait,Attesa prima della risposta,4\r\n",
    "cases.relevance,pertinent,Pertinenti (casi),5\r\n",
    "cases.relevance,_total,Totale,6\r\n",
    "cases.exploitation,labour_exploitation,Grave sfruttamento lavorativo,1\r\n",
    "cases.gender,female,Donna,4\r\n",
    "cases.caller_type,client_friend_colleague,\"Cliente, amica/o, collega\",4\r\n",
    "cases.nationality,NG,Nigeria,4\r\n",
    "mediation.language.requests,pcm,Pidgin nigeriano,4\r\n",
    "mediation.language.fulfilled,_total,Totale,6\r\n",
    "referrals.unit.sent,fi-pronta,Pronta accoglienza Firenze (DEMO),3\r\n",
];

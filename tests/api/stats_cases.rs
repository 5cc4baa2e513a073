//! The managers' dashboard, cases, mediation and referrals: a known set of intakes,
//! mediation requests and referrals written through the library at chosen times (some
//! just outside the period, one left as a draft, one placed in a territory only by its
//! call) gives exactly the expected figures on the page, for every territory and for one.

use chrono::{DateTime, Duration, Utc};
use helpline::calls::{CallId, CallLog, CallerFingerprint, Channel, NewCall};
use helpline::referral::referrals::{self, NewReferral};
use helpline::triage::intakes::{self, Source};
use helpline::triage::mediation::{self, MediationState};
use helpline::triage::{Answer, Answers, Priority, Text, Triage};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::stats::{figure, manager};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a test time")
        .with_timezone(&Utc)
}

async fn user_id(app: &TestApp) -> i64 {
    helpline::with_db!(&app.db, |pool| {
        sqlx::query_scalar("select id from users where username = 'operatrice'")
            .fetch_one(pool)
            .await
            .expect("the operator")
    })
}

async fn call(app: &TestApp, territory: Option<&str>, at: DateTime<Utc>) -> CallId {
    let log = CallLog::start(&app.db).expect("call log");
    log.open(
        NewCall {
            channel: Channel::Sip,
            line: None,
            caller: CallerFingerprint {
                hash: None,
                territory_hint: territory.map(str::to_string),
            },
            language: None,
            opened_by: None,
        },
        at,
    )
    .await
    .expect("call opened")
}

/// An intake opened at `at` with `answers` (single choices, and `exploitation` as the
/// several types), saved once, completed or left as a draft.
async fn intake(
    app: &TestApp,
    call: Option<CallId>,
    at: DateTime<Utc>,
    answers: &[(&str, &str)],
    exploitation: &[&str],
    complete: bool,
) -> i64 {
    let by = user_id(app).await;
    let source = if call.is_some() {
        Source::Call
    } else {
        Source::WalkIn
    };
    let id = intakes::open(&app.db, call, source, by, at)
        .await
        .expect("intake opened");
    let mut a = Answers::default();
    for (q, v) in answers {
        a.set(*q, Answer::Choice(v.to_string()));
    }
    if !exploitation.is_empty() {
        a.set(
            "exploitation",
            Answer::Choices(exploitation.iter().map(|s| s.to_string()).collect()),
        );
    }
    let triage = Triage {
        priority: Priority::P3,
        reasons: vec![],
        services: vec![],
        safety: vec![],
        matched: vec![],
    };
    intakes::save(
        &app.db,
        id,
        1,
        &a,
        &triage,
        complete,
        at + Duration::minutes(20),
    )
    .await
    .expect("intake saved");
    id
}

/// A mediation request at `at` moved through `steps` (state, mediator, seconds after).
async fn mediation_request(
    app: &TestApp,
    intake: i64,
    language: &str,
    at: DateTime<Utc>,
    steps: &[(MediationState, &str, i64)],
) {
    let by = user_id(app).await;
    let id = mediation::request(&app.db, None, Some(intake), language, by, at)
        .await
        .expect("mediation requested");
    for (to, mediator, after) in steps {
        mediation::transition(
            &app.db,
            id,
            *to,
            Some(mediator),
            by,
            at + Duration::seconds(*after),
        )
        .await
        .expect("mediation moved");
    }
}

/// A referral sent at `at`, notified at the escalation `minutes` (as the escalation's
/// notification jobs record them), answered `answer` seconds later if at all.
async fn referral(
    app: &TestApp,
    intake: i64,
    unit: &str,
    at: DateTime<Utc>,
    minutes: &[i64],
    answer: Option<(bool, i64)>,
) -> i64 {
    let id = referrals::create(
        &app.db,
        &NewReferral {
            intake_id: intake,
            subject_id: None,
            unit_code: unit.into(),
            priority: Priority::P2,
            reason: Text::new("prova", "test"),
            exploitation: vec![],
            services: vec![],
            language: None,
            mediator_language: None,
            message: String::new(),
            created_by: user_id(app).await,
        },
        at,
    )
    .await
    .expect("referral sent");
    for minute in minutes {
        helpline::with_db!(&app.db, |pool| {
            sqlx::query(
                "insert into deliveries (referral_id, minute, person, channel, status, at) \
                 values ($1, $2, 'contact:demo', 'email', 'sent', $3)",
            )
            .bind(id)
            .bind(*minute)
            .bind(at + Duration::minutes(*minute))
            .execute(pool)
            .await
            .map(|_| ())
            .expect("delivery recorded")
        });
    }
    if let Some((accepted, after)) = answer {
        referrals::answer(
            &app.db,
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
    id
}

/// The week of 25–31 March 2024 on the Rome clock, and what lies just outside it.
async fn seed(app: &TestApp) {
    use MediationState::*;
    // A Pisa landline calling about a person in Florence: the answer places the case.
    let pisa_call = call(app, Some("PI"), utc("2024-03-25T09:00:00Z")).await;
    let i1 = intake(
        app,
        Some(pisa_call),
        utc("2024-03-25T09:00:00Z"),
        &[
            ("relevance", "pertinent"),
            ("territory", "FI"),
            ("gender", "female"),
            ("age_band", "14_17"),
            ("minor", "yes"),
            ("nationality", "NG"),
            ("language", "pcm"),
        ],
        &["sexual_street"],
        true,
    )
    .await;
    let i2 = intake(
        app,
        None,
        utc("2024-03-26T10:00:00Z"),
        &[
            ("relevance", "pertinent"),
            ("territory", "FI"),
            ("gender", "female"),
            ("age_band", "25_34"),
            ("minor", "no"),
            ("nationality", "NG"),
        ],
        &["sexual_street", "sexual_indoor"],
        true,
    )
    .await;
    let i3 = intake(
        app,
        None,
        utc("2024-03-27T11:00:00Z"),
        &[
            ("relevance", "pertinent"),
            ("territory", "PI"),
            ("gender", "male"),
            ("minor", "no"),
            ("nationality", "RO"),
        ],
        &["labour_exploitation"],
        true,
    )
    .await;
    let i4 = intake(
        app,
        None,
        utc("2024-03-28T12:00:00Z"),
        &[
            ("relevance", "pertinent"),
            ("territory", "PI"),
            ("gender", "transgender"),
            ("minor", "unknown"),
            ("nationality", "BR"),
        ],
        &["sexual_indoor"],
        true,
    )
    .await;
    // Age band alone makes a minor; the place is not known.
    intake(
        app,
        None,
        utc("2024-03-29T13:00:00Z"),
        &[
            ("relevance", "pertinent"),
            ("territory", "unknown"),
            ("gender", "unknown"),
            ("age_band", "under_14"),
            ("nationality", "AL"),
        ],
        &["begging"],
        true,
    )
    .await;
    // Not pertinent, from a Florence landline: counted in Florence by its call.
    let florence_call = call(app, Some("FI"), utc("2024-03-30T14:00:00Z")).await;
    intake(
        app,
        Some(florence_call),
        utc("2024-03-30T14:00:00Z"),
        &[("relevance", "not_pertinent")],
        &[],
        true,
    )
    .await;
    // Sunday 31 at 22:00 in Rome (summer time): a silent call, still in the period.
    let silent_call = call(app, None, utc("2024-03-31T20:00:00Z")).await;
    intake(
        app,
        Some(silent_call),
        utc("2024-03-31T20:00:00Z"),
        &[("relevance", "prank_silent")],
        &[],
        true,
    )
    .await;
    // A draft is not counted.
    intake(
        app,
        None,
        utc("2024-03-26T15:00:00Z"),
        &[("relevance", "pertinent"), ("territory", "FI")],
        &["forced_labour"],
        false,
    )
    .await;
    // Sunday 24 at 23:30 in Rome: the day before the period.
    let before = intake(
        app,
        None,
        utc("2024-03-24T22:30:00Z"),
        &[
            ("relevance", "pertinent"),
            ("territory", "FI"),
            ("nationality", "CN"),
        ],
        &["forced_labour"],
        true,
    )
    .await;

    // Mediation: 120 s, 300 s (after a mediator who did not answer), never (a mediator
    // dialled into the call who did not pick up), 600 s (dialled into the call, joined,
    // then dropped by the operator).
    mediation_request(
        app,
        i1,
        "pcm",
        utc("2024-03-25T09:05:00Z"),
        &[(Accepted, "med-a", 60), (Joined, "med-a", 120)],
    )
    .await;
    mediation_request(
        app,
        i2,
        "en",
        utc("2024-03-26T10:05:00Z"),
        &[
            (Unanswered, "med-b", 30),
            (Accepted, "med-c", 90),
            (CalledBack, "med-c", 300),
        ],
    )
    .await;
    mediation_request(
        app,
        i3,
        "ro",
        utc("2024-03-27T11:05:00Z"),
        &[
            (Ringing, "med-d", 10),
            (Unanswered, "med-d", 30),
            (Closed, "med-d", 60),
        ],
    )
    .await;
    mediation_request(
        app,
        i4,
        "pt",
        utc("2024-03-28T12:05:00Z"),
        &[
            (Ringing, "med-e", 20),
            (Joined, "med-e", 600),
            (Left, "med-e", 900),
        ],
    )
    .await;
    mediation_request(
        app,
        before,
        "pcm",
        utc("2024-03-24T22:35:00Z"),
        &[(Accepted, "med-a", 5), (Joined, "med-a", 10)],
    )
    .await;

    // Referrals: answered after 600 s (then closed with an outcome), 1800 s after a
    // second step, declined after 300 s, and one still waiting after two steps.
    let r1 = referral(
        app,
        i1,
        "fi-pronta",
        utc("2024-03-25T09:10:00Z"),
        &[0],
        Some((true, 600)),
    )
    .await;
    referrals::record_outcome(&app.db, r1, "placed", utc("2024-03-25T12:00:00Z"))
        .await
        .expect("outcome");
    referral(
        app,
        i2,
        "fi-pronta",
        utc("2024-03-26T10:10:00Z"),
        &[0, 15],
        Some((true, 1800)),
    )
    .await;
    referral(
        app,
        i3,
        "pi-pronta",
        utc("2024-03-27T11:10:00Z"),
        &[0],
        Some((false, 300)),
    )
    .await;
    referral(
        app,
        i4,
        "pi-pronta",
        utc("2024-03-28T12:10:00Z"),
        &[0, 30],
        None,
    )
    .await;
    referral(
        app,
        before,
        "fi-pronta",
        utc("2024-03-24T22:40:00Z"),
        &[0, 15],
        Some((false, 60)),
    )
    .await;
}

/// The body rows of the table `id`, as `label: cells` lines.
fn rows(html: &str, id: &str) -> Vec<String> {
    let start = html
        .find(&format!("<table id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no table {id} in {html}"));
    let table = &html[start..];
    let table = &table[..table.find("</table>").expect("end of table")];
    let body = &table[table.find("<tbody>").expect("body")..];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            // The texts between tags: the label, then each cell.
            let mut cells = Vec::new();
            let mut text = String::new();
            let mut in_tag = true;
            for ch in row.chars() {
                match ch {
                    '<' => {
                        in_tag = true;
                        if !text.trim().is_empty() {
                            cells.push(text.trim().to_string());
                        }
                        text.clear();
                    }
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            match cells.split_first() {
                Some((label, rest)) => format!("{label}: {}", rest.join(" ")),
                None => String::new(),
            }
        })
        .collect()
}

both_backends!(
    a_manager_sees_the_exact_cases_mediation_and_referrals_of_a_week,
    |app: TestApp| async move {
        seed(&app).await;
        let c = manager(&app).await;
        let (status, html) = c.get_text("/stats?from=2024-03-25&to=2024-04-01").await;
        assert_eq!(status, 200, "{html}");

        assert_eq!(figure(&html, "cases-intakes"), "7");
        assert_eq!(figure(&html, "cases-pertinent"), "5");
        assert_eq!(figure(&html, "cases-not-pertinent"), "1");
        assert_eq!(figure(&html, "cases-prank-silent"), "1");
        assert!(!html.contains("cases-relevance-unrecorded"));
        assert_eq!(
            rows(&html, "cases-exploitation"),
            [
                "Sessuale su strada: 2",
                "Sessuale indoor: 2",
                "Accattonaggio: 1",
                "Lavoro forzato: 0",
                "Grave sfruttamento lavorativo: 1",
                "Violenza sessuale: 0",
                "Economie illegali: 0",
                "Matrimonio forzato: 0",
            ]
        );
        assert!(html.contains("<svg role=\"img\" aria-labelledby=\"exploitation-title\""));
        assert!(html.contains("<title>Sessuale su strada: 2</title>"));
        assert_eq!(
            rows(&html, "cases-gender"),
            ["Donna: 2", "Uomo: 1", "Transgender: 1", "Non noto: 1"]
        );
        assert_eq!(
            rows(&html, "cases-age"),
            ["Minorenni: 2", "Maggiorenni: 2", "Età non nota: 1"]
        );
        assert_eq!(
            rows(&html, "cases-nationality"),
            [
                "Nigeria: 2",
                "Albania: 1",
                "Brasile: 1",
                "Romania: 1",
                "Altre: 0",
                "Non registrato: 0",
            ]
        );
        assert_eq!(
            rows(&html, "cases-territory"),
            ["Firenze: 2", "Pisa: 2", "Non registrato: 1"]
        );

        // Mediation: 3 of 4 fulfilled after 120, 300 and 600 s.
        assert_eq!(figure(&html, "mediation-requests"), "4");
        assert_eq!(figure(&html, "mediation-fulfilled"), "3");
        assert_eq!(figure(&html, "mediation-share"), "75 %");
        assert_eq!(
            rows(&html, "mediation-languages"),
            [
                "Inglese: 1 1",
                "Pidgin nigeriano: 1 1",
                "Portoghese: 1 1",
                "Rumeno: 1 0",
            ]
        );
        assert_eq!(
            rows(&html, "mediation-times"),
            ["Tempo per avere un mediatore: 3 5 min 0 s 9 min 0 s"]
        );

        // Referrals: answers after 300, 600 and 1800 s.
        assert_eq!(
            rows(&html, "referral-units"),
            [
                "Pronta accoglienza Firenze (DEMO): 2 2 0 1",
                "Pronta accoglienza Pisa (DEMO): 2 0 1 1",
                "Totale: 4 2 1 2",
            ]
        );
        assert_eq!(
            rows(&html, "referral-times"),
            ["Tempo alla risposta dell&#39;unità (accettati o rifiutati): 3 10 min 0 s 26 min 0 s"]
        );

        // Florence: two cases by their answers, one not pertinent by its call.
        let (status, html) = c
            .get_text("/stats?from=2024-03-25&to=2024-04-01&territory=FI")
            .await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(figure(&html, "cases-intakes"), "3");
        assert_eq!(figure(&html, "cases-pertinent"), "2");
        assert_eq!(figure(&html, "cases-not-pertinent"), "1");
        assert_eq!(figure(&html, "cases-prank-silent"), "0");
        assert_eq!(
            rows(&html, "cases-exploitation")[..3],
            [
                "Sessuale su strada: 2",
                "Sessuale indoor: 1",
                "Accattonaggio: 0"
            ]
        );
        assert_eq!(rows(&html, "cases-territory"), ["Firenze: 2"]);
        assert_eq!(figure(&html, "mediation-requests"), "2");
        assert_eq!(figure(&html, "mediation-share"), "100 %");
        assert_eq!(
            rows(&html, "mediation-times"),
            ["Tempo per avere un mediatore: 2 3 min 30 s 4 min 42 s"]
        );
        assert_eq!(
            rows(&html, "referral-units"),
            [
                "Pronta accoglienza Firenze (DEMO): 2 2 0 1",
                "Totale: 2 2 0 1"
            ]
        );
        assert_eq!(
            rows(&html, "referral-times"),
            ["Tempo alla risposta dell&#39;unità (accettati o rifiutati): 2 20 min 0 s 28 min 0 s"]
        );

        // In English.
        c.get("/lang/en").await;
        let (_, html) = c.get_text("/stats?from=2024-03-25&to=2024-04-01").await;
        assert_eq!(
            rows(&html, "cases-exploitation")[0],
            "Sexual, on the street: 2"
        );
        assert_eq!(rows(&html, "cases-age")[0], "Minors: 2");
    }
);

both_backends!(
    an_empty_period_shows_zeros_and_dashes,
    |app: TestApp| async move {
        let c = manager(&app).await;
        let (status, html) = c.get_text("/stats?from=2024-03-25&to=2024-04-01").await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(figure(&html, "cases-intakes"), "0");
        assert_eq!(figure(&html, "mediation-share"), "—");
        assert_eq!(
            rows(&html, "mediation-times"),
            ["Tempo per avere un mediatore: 0 — —"]
        );
        assert_eq!(rows(&html, "referral-units"), ["Totale: 0 0 0 0"]);
    }
);

//! A mediation request nobody answers escalates like a referral (`[escalation.mediation]`):
//! the mediator on call is called again every 2 minutes, from minute 4 every mediator who
//! speaks the language, from minute 10 the regional coordinator too; once the operator
//! records that a mediator accepted, nothing more is sent. Time moves on the service's
//! clock; messages go to the real SMTP server and the strict SMS stand-in.

use std::time::Duration;

use chrono::Utc;
use helpline::referral::directory::{Directory, EMBEDDED_DIRECTORY};
use helpline::referral::rota::{self, Override, OverrideMode, Person, RotaRole, Target};

use crate::console_client::location;
use crate::escalation::{p1_sent, until, Story};
use crate::helpers::Backend;
use crate::support::sms_provider::AcceptedSms;

fn e164(mobile: &str) -> String {
    mobile.chars().filter(|c| !c.is_whitespace()).collect()
}

fn mediation_sms(all: &[AcceptedSms]) -> Vec<AcceptedSms> {
    all.iter()
        .filter(|s| s.body.contains("mediazione n."))
        .cloned()
        .collect()
}

async fn story(backend: Backend) {
    let Some(Story {
        app,
        smtp,
        sms,
        console: c,
        summary,
    }) = p1_sent(backend).await
    else {
        return;
    };
    let dir = Directory::parse(EMBEDDED_DIRECTORY, "test").unwrap();
    let ru: Vec<_> = dir
        .mediators
        .iter()
        .filter(|m| m.languages.iter().any(|l| l == "ru"))
        .cloned()
        .collect();
    assert!(
        ru.len() >= 2,
        "two Russian-speaking mediators in the directory"
    );
    let (first, others) = (&ru[0], &ru[1..]);
    // Tonight only the first is on call for Russian.
    let now = Utc::now();
    rota::add_override(
        &app.db,
        &dir,
        &Target::Mediators("ru".into()),
        &Override {
            from: now - chrono::Duration::minutes(1),
            to: now + chrono::Duration::hours(3),
            person: Person::Mediator(first.code.clone()),
            role: RotaRole::Primary,
            mode: OverrideMode::Replace,
        },
        None,
        now,
    )
    .await
    .unwrap();

    let intake = summary.trim_end_matches("/summary").to_string();
    let r = c
        .submit(
            &summary,
            &format!("{intake}/mediation"),
            &[("language", "ru")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let page = location(&r).to_string();
    assert!(page.starts_with("/mediation/"), "{page}");
    let to = |n: usize| {
        let sms = &sms;
        move || mediation_sms(&sms.accepted()).len() == n
    };
    until("the mediator on call", to(1)).await;
    assert_eq!(mediation_sms(&sms.accepted())[0].to, e164(&first.mobile));

    // Minute 2: the mediator on call again.
    app.advance_when_settled(chrono::Duration::minutes(2)).await;
    until("the repeat at minute 2", to(2)).await;
    // Minute 4: every mediator who speaks Russian.
    app.advance_when_settled(chrono::Duration::minutes(2)).await;
    until("everyone at minute 4", to(3 + others.len())).await;
    let reached: Vec<String> = mediation_sms(&sms.accepted())
        .iter()
        .map(|s| s.to.clone())
        .collect();
    for m in others {
        assert_eq!(
            reached.iter().filter(|t| **t == e164(&m.mobile)).count(),
            1,
            "{reached:?}"
        );
    }
    assert!(!reached.contains(&e164(&dir.coordinator.mobile)));
    // Minute 10 (steps 6, 8 and 10): the coordinator too, told nobody answered.
    app.advance_when_settled(chrono::Duration::minutes(6)).await;
    let everyone = 1 + others.len();
    until(
        "the coordinator at minute 10",
        to(3 + others.len() + 3 * everyone + 1),
    )
    .await;
    let coordinator: Vec<AcceptedSms> = mediation_sms(&sms.accepted())
        .into_iter()
        .filter(|s| s.to == e164(&dir.coordinator.mobile))
        .collect();
    assert_eq!(coordinator.len(), 1);
    assert!(
        coordinator[0]
            .body
            .contains("nessun mediatore ha ancora risposto"),
        "{}",
        coordinator[0].body
    );
    let mails = smtp.messages();
    let mediation_mails = mails
        .iter()
        .filter(|m| {
            m.header("Subject")
                .unwrap_or("")
                .starts_with("[Mediazione]")
        })
        .count();
    assert!(mediation_mails >= 3, "e-mail too: {mediation_mails}");

    // The operator records that the first mediator accepted: the chain stops.
    let r = c
        .submit(
            &page,
            &page,
            &[("to", "accepted"), ("mediator", first.code.as_str())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let sent = mediation_sms(&sms.accepted()).len();
    app.advance_when_settled(chrono::Duration::minutes(10))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        mediation_sms(&sms.accepted()).len(),
        sent,
        "nothing after the answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_mediation_request_widens_then_stops_when_accepted_sqlite() {
    story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_mediation_request_widens_then_stops_when_accepted_postgres() {
    story(Backend::Postgres).await;
}

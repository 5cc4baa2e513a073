//! Referrals from the console: the routing proposal with its reason, sending, the unit's
//! contact seeing only their unit's referrals and answering from the console (links and
//! SMS replies: `escalation.rs`, where they are sent).

use chrono::Utc;
use helpline::auth::{manage, users, Role};
use secrecy::SecretString;

use crate::both_backends;
use crate::console_client::{location, Console, PASSWORD};
use crate::helpers::TestApp;

/// The proposal row that goes to `unit` on the summary page.
fn row_for(html: &str, unit: &str) -> String {
    let at = html
        .find(&format!("<option value=\"{unit}\" selected>"))
        .expect("a row for the unit");
    let before = &html[..at];
    let name = before.rfind("name=\"unit_").expect("row select") + 11;
    before[name..].split('"').next().unwrap().to_string()
}

/// A walk-in intake in Firenze needing emergency shelter tonight; returns its path.
pub(crate) async fn urgent_intake(c: &Console) -> String {
    let r = c
        .submit("/intakes/new", "/intakes", &[("source", "walk_in")])
        .await;
    let intake = location(&r).to_string();
    c.saved_step(&intake, "relevance", &[("relevance", "pertinent")])
        .await;
    c.saved_step(
        &intake,
        "caller",
        &[("caller_type", "victim"), ("reason", "help_exit")],
    )
    .await;
    c.saved_step(&intake, "danger", &[("danger", "no")]).await;
    c.saved_step(&intake, "place", &[("territory", "FI")]).await;
    c.saved_step(
        &intake,
        "exploitation",
        &[("exploitation", "sexual_street")],
    )
    .await;
    c.saved_step(
        &intake,
        "needs",
        &[("needs", "emergency_shelter"), ("shelter_when", "tonight")],
    )
    .await;
    intake
}

async fn contact(app: &TestApp, name: &str, unit: &str) -> Console {
    let password = SecretString::from(PASSWORD.to_string());
    let id = users::add(&app.db, name, Role::Contact, &password, false, Utc::now())
        .await
        .unwrap();
    manage::update(&app.db, id, Role::Contact, true, Some(unit))
        .await
        .unwrap();
    let c = Console::new(app);
    assert_eq!(location(&c.sign_in(name, PASSWORD).await), "/");
    c
}

both_backends!(
    a_referral_reaches_only_the_units_contact,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let intake = urgent_intake(&c).await;
        let summary = format!("{intake}/summary");
        let (_, html) = c.get_text(&summary).await;
        assert!(html.contains("P1"), "{html}");
        // The proposal: Firenze's emergency shelter, with the reason.
        assert!(
            html.contains("<option value=\"fi-pronta\" selected>"),
            "{html}"
        );
        assert!(
            html.contains("Unità del territorio di Firenze per: Pronta accoglienza"),
            "{html}"
        );
        // A message with a phone number is refused.
        let row = row_for(&html, "fi-pronta");
        let r = c
            .submit(
                &summary,
                &format!("{intake}/referrals"),
                &[("send", &row), ("message", "chiamala al 3471234567")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let r = c
            .submit(
                &summary,
                &format!("{intake}/referrals"),
                &[("send", &row), ("message", "Posto letto stanotte.")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let (_, html) = c.get_text(&summary).await;
        assert!(html.contains("referrals-sent"), "{html}");

        // The Firenze shelter's contact sees it, with no number and no name in it.
        let fi = contact(&app, "ref.fi", "fi-pronta").await;
        assert_eq!(location(&fi.get("/").await), "/cases");
        let (status, cases) = fi.get_text("/cases").await;
        assert_eq!(status, 200);
        assert_eq!(cases.matches("class=\"case\"").count(), 1, "{cases}");
        let id: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
            "select id from referrals"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        let (status, case) = fi.get_text(&format!("/cases/{id}")).await;
        assert_eq!(status, 200);
        assert!(case.contains("Posto letto stanotte."));
        // Another unit's contact sees nothing of it.
        let ar = contact(&app, "ref.ar", "ar-pronta").await;
        let (_, cases) = ar.get_text("/cases").await;
        assert_eq!(cases.matches("class=\"case\"").count(), 0, "{cases}");
        assert_eq!(ar.get(&format!("/cases/{id}")).await.status().as_u16(), 404);
        // Nor does an operator see the unit pages.
        assert_eq!(c.get("/cases").await.status().as_u16(), 403);

        // Declining needs a reason; accepting is recorded once.
        let page = format!("/cases/{id}");
        let r = fi
            .submit(
                &page,
                &format!("{page}/answer"),
                &[("answer", "decline"), ("note", "")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let r = fi
            .submit(
                &page,
                &format!("{page}/answer"),
                &[("answer", "accept"), ("note", "arriviamo")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let (_, case) = fi.get_text(&page).await;
        assert!(
            case.contains("id=\"answered\">Accettata · user:ref.fi · console"),
            "{case}"
        );
        let (_, html) = c.get_text(&summary).await;
        assert!(
            html.contains("acknowledged (user:ref.fi)"),
            "the operator sees who: {html}"
        );
        // The unit closes the loop with the outcome.
        let r = fi
            .submit(
                &page,
                &format!("{page}/outcome"),
                &[("outcome", "nonsense")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let r = fi
            .submit(
                &page,
                &format!("{page}/outcome"),
                &[("outcome", "emergency_placement")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let (_, case) = fi.get_text(&page).await;
        assert!(
            case.contains("id=\"outcome\">Esito: Inserimento in pronta accoglienza"),
            "{case}"
        );
    }
);

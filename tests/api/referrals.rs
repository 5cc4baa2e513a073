//! Referrals from the console: the routing proposal with its reason, sending, the unit's
//! contact seeing only their unit's referrals, answering from the console or once by a
//! signed link.

use chrono::{DateTime, Utc};
use helpline::auth::{manage, users, Role};
use helpline::calls::CallerHasher;
use helpline::referral::links::{LinkClaims, LinkSigner};
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
async fn urgent_intake(c: &Console) -> String {
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

fn signer() -> LinkSigner {
    let hasher = CallerHasher::from_secret(&SecretString::from(
        "test-key-test-key-test-key-test-key".to_string(),
    ));
    LinkSigner::new(
        hasher
            .derive_key("helpline referral acknowledgement links v1")
            .unwrap(),
    )
}

both_backends!(
    an_acknowledgement_link_works_once_and_forged_or_expired_ones_are_refused,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let intake = urgent_intake(&c).await;
        let summary = format!("{intake}/summary");
        let (_, html) = c.get_text(&summary).await;
        let row = row_for(&html, "fi-pronta");
        c.submit(&summary, &format!("{intake}/referrals"), &[("send", &row)])
            .await;
        // The link issued to the shelter's primary contact on call.
        let (id, contact, expires_at): (i64, String, DateTime<Utc>) =
            helpline::with_db!(&app.db, |pool| sqlx::query_as(
                "select referral_id, contact_code, expires_at from referral_links"
            )
            .fetch_one(pool)
            .await
            .unwrap());
        assert!(contact.starts_with("fi-pronta"), "{contact}");
        let token = signer()
            .token(&LinkClaims {
                referral_id: id,
                contact: contact.clone(),
                expires_at,
            })
            .unwrap();
        let anonymous = reqwest::Client::new();
        let page = anonymous
            .get(app.url(&format!("/ack/{token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().await.unwrap().contains("id=\"accept\""));
        let r = anonymous
            .post(app.url(&format!("/ack/{token}")))
            .form(&[("answer", "accept"), ("note", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        // Used once: a replay is refused.
        let again = anonymous
            .post(app.url(&format!("/ack/{token}")))
            .form(&[("answer", "decline"), ("note", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status().as_u16(), 410);
        let state: (String, String, String) = helpline::with_db!(&app.db, |pool| sqlx::query_as(
            "select state, acknowledged_by, ack_channel from referrals where id = $1"
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(
            state,
            (
                "acknowledged".to_string(),
                contact.clone(),
                "link".to_string()
            )
        );
        // A forged link (another key), an altered one and an expired one are refused.
        let forged = LinkSigner::new(secrecy::SecretBox::new(b"another key".to_vec().into()))
            .token(&LinkClaims {
                referral_id: id,
                contact: contact.clone(),
                expires_at,
            })
            .unwrap();
        assert_eq!(
            anonymous
                .get(app.url(&format!("/ack/{forged}")))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            403
        );
        let altered = token.replacen(&format!("{id}."), &format!("{}.", id + 1), 1);
        assert_eq!(
            anonymous
                .get(app.url(&format!("/ack/{altered}")))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            403
        );
        let expired = signer()
            .token(&LinkClaims {
                referral_id: id,
                contact,
                expires_at: Utc::now() - chrono::Duration::minutes(1),
            })
            .unwrap();
        assert_eq!(
            anonymous
                .get(app.url(&format!("/ack/{expired}")))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            410
        );
    }
);

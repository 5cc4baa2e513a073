//! Admins manage the directory in the console: units (free beds, inactive), contacts,
//! mediators, the coordinator. Each save is a new version in the database, audited, in
//! use at once for routing and rotas, kept across restarts, and seen by other nodes;
//! wrong input and a change over somebody else's are refused, keeping what was typed.

use std::time::Duration;

use chrono::Utc;
use helpline::auth::Role;
use helpline::db::audit::AuditEntry;
use helpline::referral::directory::{
    fingerprint, Directory, DirectoryHandle, Edit, EMBEDDED_DIRECTORY,
};
use helpline::referral::rota::{self, Person, Target};

use crate::both_backends;
use crate::console_client::{csrf_of, location, Console, PASSWORD};
use crate::helpers::TestApp;
use crate::referrals::urgent_intake;

async fn admin(app: &TestApp) -> Console {
    app.token_for("amministra", Role::Admin).await;
    let c = Console::new(app);
    assert_eq!(location(&c.sign_in("amministra", PASSWORD).await), "/");
    c
}

/// The value of the hidden `seen` field of a form page.
fn seen_of(html: &str) -> String {
    let at = html.find("name=\"seen\" value=\"").expect("a seen field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

/// Posts a directory form from `page` with its CSRF token and `seen` fingerprint.
async fn post_from(
    c: &Console,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (status, html) = c.get_text(page).await;
    assert_eq!(status, 200, "{page}: {html}");
    let (csrf, seen) = (csrf_of(&html), seen_of(&html));
    let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf), ("seen", &seen)];
    all.extend_from_slice(fields);
    c.post_form(action, &all).await
}

const FI_PRONTA: &[(&str, &str)] = &[
    ("name", "Pronta accoglienza Firenze (DEMO)"),
    ("kind", "emergency_shelter"),
    ("territory", "FI"),
    ("services", "emergency_shelter"),
    ("services", "health"),
    ("services", "legal"),
    ("languages", "it, en, pcm, ro, pt, fr"),
    ("active", "1"),
];

fn with<'a>(base: &[(&'a str, &'a str)], key: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<(&str, &str)> = base.iter().copied().filter(|(k, _)| *k != key).collect();
    v.push((key, value));
    v
}

both_backends!(
    a_full_shelter_is_passed_over_and_a_new_unit_with_a_contact_is_on_call_at_once,
    |app: TestApp| async move {
        let op = Console::new(&app);
        op.sign_in("operatrice", PASSWORD).await;
        assert_eq!(op.get("/admin/directory").await.status().as_u16(), 403);
        let a = admin(&app).await;
        let (status, html) = a.get_text("/admin/directory").await;
        assert_eq!(status, 200);
        assert!(html.contains("Versione 1"), "{html}");
        assert!(html.contains("seeded from"), "{html}");
        assert!(html.contains("data-unit=\"fi-pronta\""));

        // The Florence shelter reports no free bed: a shelter tonight goes elsewhere.
        let page = "/admin/directory/units/fi-pronta";
        let r = post_from(&a, page, page, &with(FI_PRONTA, "beds", "0")).await;
        assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
        assert_eq!(location(&r), "/admin/directory/units/fi-pronta?saved=2");
        let intake = urgent_intake(&op).await;
        let (_, summary) = op.get_text(&format!("{intake}/summary")).await;
        assert!(
            summary.contains("nessun posto libero (Pronta accoglienza Firenze (DEMO))"),
            "{summary}"
        );
        assert!(!summary.contains("<option value=\"fi-pronta\" selected>"));

        // A new listening desk and its contact: on call at once by the default rota.
        let r = post_from(
            &a,
            "/admin/directory/units/new",
            "/admin/directory/units",
            &[
                ("code", "fi-ascolto-nord"),
                ("name", "Sportello Firenze nord (DEMO)"),
                ("kind", "listening_desk"),
                ("territory", "FI"),
                ("services", "listening"),
                ("languages", "it, EN"),
                ("beds", ""),
                ("active", "1"),
            ],
        )
        .await;
        assert_eq!(
            location(&r),
            "/admin/directory/units/fi-ascolto-nord?saved=3"
        );
        let (_, html) = a.get_text("/admin/directory/units/fi-ascolto-nord").await;
        assert!(html.contains("id=\"no-contacts\""), "{html}");
        let r = post_from(
            &a,
            "/admin/directory/contacts/new?unit=fi-ascolto-nord",
            "/admin/directory/contacts",
            &[
                ("code", "fi-ascolto-nord-1"),
                ("name", "Referente nord (DEMO)"),
                ("unit", "fi-ascolto-nord"),
                ("role", "primary"),
                ("email", "nord@example.invalid"),
                ("mobile", "+39 300 000 0999"),
            ],
        )
        .await;
        assert_eq!(
            location(&r),
            "/admin/directory/units/fi-ascolto-nord?saved=4"
        );
        let on_call = rota::on_call(&app.db, &Target::Unit("fi-ascolto-nord".into()), Utc::now())
            .await
            .unwrap();
        assert_eq!(on_call.len(), 1);
        assert_eq!(
            on_call[0].person,
            Person::Contact("fi-ascolto-nord-1".into())
        );

        // Every change is in the history and the audit log, by whom.
        let (_, html) = a.get_text("/admin/directory").await;
        assert!(html.contains("unit fi-pronta update: beds"), "{html}");
        assert!(html.contains("unit fi-ascolto-nord add"));
        assert!(html.contains("contact fi-ascolto-nord-1 add"));
        app.token_for("supervisora", Role::Supervisor).await;
        let s = Console::new(&app);
        s.sign_in("supervisora", PASSWORD).await;
        let (_, audit) = s.get_text("/audit").await;
        for action in [
            "directory.unit.update",
            "directory.unit.add",
            "directory.contact.add",
        ] {
            assert!(audit.contains(action), "{action}: {audit}");
        }
        assert!(
            !audit.contains("+39 300 000 0999"),
            "contact details stay out of the log"
        );
    }
);

both_backends!(
    wrong_input_is_refused_with_what_was_typed_kept,
    |app: TestApp| async move {
        let a = admin(&app).await;
        // A bad mobile: 422, the message, the typed name still in the form.
        let r = post_from(
            &a,
            "/admin/directory/mediators/new",
            "/admin/directory/mediators",
            &[
                ("code", "med-tigrino"),
                ("name", "Mediatrice tigrino (DEMO)"),
                ("languages", "ti"),
                ("email", "ti@example.invalid"),
                ("mobile", "333"),
            ],
        )
        .await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("Cellulare non valido"), "{html}");
        assert!(
            html.contains("value=\"Mediatrice tigrino (DEMO)\""),
            "{html}"
        );
        // A code already in use.
        let page = "/admin/directory/units/new";
        let r = post_from(
            &a,
            page,
            "/admin/directory/units",
            &with(FI_PRONTA, "code", "fi-pronta"),
        )
        .await;
        assert_eq!(r.status().as_u16(), 409);
        assert!(r.text().await.unwrap().contains("Codice già in uso"));
        // A territory the directory does not have (a forged form).
        let r = post_from(
            &a,
            page,
            "/admin/directory/units",
            &with(&with(FI_PRONTA, "code", "xx-nuova"), "territory", "XX"),
        )
        .await;
        assert_eq!(r.status().as_u16(), 422);
        assert!(r.text().await.unwrap().contains("unknown territory `XX`"));
        // Beds that are not a number.
        let r = post_from(
            &a,
            page,
            "/admin/directory/units",
            &with(&with(FI_PRONTA, "code", "fi-nuova"), "beds", "tanti"),
        )
        .await;
        assert_eq!(r.status().as_u16(), 422);
        assert!(r.text().await.unwrap().contains("Posti liberi"));
        // Nothing of it was saved.
        let (_, html) = a.get_text("/admin/directory").await;
        assert!(html.contains("Versione 1"), "{html}");
        // A form without its CSRF token: refused.
        let r = a
            .post_form(
                "/admin/directory/units",
                &with(FI_PRONTA, "code", "fi-nuova"),
            )
            .await;
        assert_eq!(r.status().as_u16(), 403);
    }
);

both_backends!(
    a_change_over_somebody_elses_is_refused_then_saved_knowingly,
    |app: TestApp| async move {
        let a = admin(&app).await;
        let page = "/admin/directory/units/fi-pronta";
        let (_, html) = a.get_text(page).await;
        let (csrf, stale) = (csrf_of(&html), seen_of(&html));
        // Another admin sets the beds meanwhile.
        let r = post_from(&a, page, page, &with(FI_PRONTA, "beds", "2")).await;
        assert_eq!(r.status().as_u16(), 303);
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf), ("seen", &stale)];
        form.extend(with(FI_PRONTA, "beds", "5"));
        let r = a.post_form(page, &form).await;
        assert_eq!(r.status().as_u16(), 409);
        let html = r.text().await.unwrap();
        assert!(html.contains("id=\"current\""), "{html}");
        assert!(html.contains("<dt>beds</dt><dd>2</dd>"), "{html}");
        assert!(
            html.contains("id=\"beds\" name=\"beds\" value=\"5\""),
            "typed value kept: {html}"
        );
        // Saving the refused form again replaces the newer value knowingly.
        let seen = seen_of(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf), ("seen", &seen)];
        form.extend(with(FI_PRONTA, "beds", "5"));
        let r = a.post_form(page, &form).await;
        assert_eq!(r.status().as_u16(), 303);
        let (_, html) = a.get_text(page).await;
        assert!(
            html.contains("id=\"beds\" name=\"beds\" value=\"5\""),
            "{html}"
        );
    }
);

both_backends!(
    changes_outlive_a_restart_and_reach_other_nodes,
    |mut app: TestApp| async move {
        let a = admin(&app).await;
        // Removing a contact and deactivating a unit.
        let page = "/admin/directory/contacts/fi-pronta-2";
        let r = post_from(&a, page, &format!("{page}/remove"), &[]).await;
        assert_eq!(location(&r), "/admin/directory/units/fi-pronta?saved=2");
        let page = "/admin/directory/units/pt-pronta";
        let r = post_from(
            &a,
            page,
            page,
            &[
                ("name", "Pronta accoglienza Pistoia (DEMO)"),
                ("kind", "emergency_shelter"),
                ("territory", "PT"),
                ("services", "emergency_shelter"),
                ("languages", "it"),
                ("beds", "4"),
            ],
        )
        .await;
        assert_eq!(location(&r), "/admin/directory/units/pt-pronta?saved=3");
        // An inactive unit is no longer offered for contact accounts.
        let (_, users) = a.get_text("/admin/users").await;
        assert!(!users.contains("value=\"pt-pronta\""), "{users}");
        assert!(users.contains("value=\"po-pronta\""));

        // Another node: it sees this node's changes, and this node sees its own.
        let file = Directory::parse(EMBEDDED_DIRECTORY, "built-in").unwrap();
        let other = DirectoryHandle::open(&app.db, file, "built-in", Utc::now())
            .await
            .unwrap();
        assert_eq!(other.version(), 3);
        assert!(!other
            .current()
            .contacts
            .iter()
            .any(|c| c.code == "fi-pronta-2"));
        let mediator = other.current().mediators[0].clone();
        let mut renamed = mediator.clone();
        renamed.name = "Mediatrice rinominata (DEMO)".into();
        let actor = AuditEntry {
            actor_user_id: None,
            actor: "node:b".into(),
            action: "directory.change",
            object_kind: "directory",
            object_id: String::new(),
            address: None,
            detail: serde_json::Value::Null,
        };
        other
            .apply(
                &app.db,
                &Edit::Mediator {
                    mediator: renamed,
                    seen: fingerprint(&mediator),
                },
                actor,
                Utc::now(),
            )
            .await
            .unwrap();
        let mut seen = false;
        for _ in 0..50 {
            let (_, html) = a.get_text("/admin/directory").await;
            if html.contains("Mediatrice rinominata (DEMO)") {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(seen, "the other node's change reached this one");

        // After a restart the database's version is in use, not the file's.
        app.restart(chrono::Duration::zero()).await;
        let a = Console::new(&app);
        assert_eq!(location(&a.sign_in("amministra", PASSWORD).await), "/");
        let (_, html) = a.get_text("/admin/directory").await;
        assert!(html.contains("Versione 4"), "{html}");
        assert!(html.contains("Mediatrice rinominata (DEMO)"));
        let (_, unit) = a.get_text("/admin/directory/units/fi-pronta").await;
        assert!(!unit.contains("data-contact=\"fi-pronta-2\""), "{unit}");
        assert!(unit.contains("data-contact=\"fi-pronta-1\""));
    }
);

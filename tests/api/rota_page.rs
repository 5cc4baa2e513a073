//! The admins' rota pages over HTTP: only admins see them, the warnings for coverage
//! gaps on a fresh install and after a unit's shifts are removed, an override that puts
//! someone on call, refusals that keep what was typed, and every change audited.

use chrono::{Duration, Utc};
use helpline::auth::Role;
use helpline::referral::directory::{Directory, EMBEDDED_DIRECTORY};
use helpline::referral::rota::{self, Person, Target, ROTA_TIME_ZONE};

use crate::both_backends;
use crate::console_client::{location, Console, PASSWORD};
use crate::helpers::TestApp;

const UNIT: &str = "fi-pronta";
const PAGE: &str = "/admin/rotas/unit:fi-pronta";

fn directory() -> Directory {
    Directory::parse(EMBEDDED_DIRECTORY, "built-in").expect("directory")
}

/// Codes of a unit's contacts, in directory order.
fn contacts_of(unit: &str) -> Vec<String> {
    directory()
        .contacts
        .iter()
        .filter(|c| c.unit == unit)
        .map(|c| c.code.clone())
        .collect()
}

/// A contact of another unit than `unit`.
fn contact_elsewhere(unit: &str) -> String {
    directory()
        .contacts
        .iter()
        .find(|c| c.unit != unit)
        .expect("a contact of another unit")
        .code
        .clone()
}

async fn admin(app: &TestApp) -> Console {
    app.token_for("amministra", Role::Admin).await;
    let c = Console::new(app);
    assert_eq!(
        c.sign_in("amministra", PASSWORD).await.status().as_u16(),
        303
    );
    c
}

/// The ids in the page's forms whose action is `{prefix}<id>/remove`.
fn removal_ids(html: &str, prefix: &str) -> Vec<i64> {
    html.match_indices(prefix)
        .filter_map(|(i, _)| {
            let rest = &html[i + prefix.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            rest[digits.len()..]
                .starts_with("/remove")
                .then(|| digits.parse().ok())
                .flatten()
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM` on the Rome clock, as a `datetime-local` field sends it.
fn local_field(at: chrono::DateTime<Utc>) -> String {
    at.with_timezone(&ROTA_TIME_ZONE)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

async fn audited(app: &TestApp, action: &str) -> Vec<String> {
    helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
        "select detail from audit_log where object_kind = 'rota' and action = $1 order by id"
    )
    .bind(action)
    .fetch_all(pool)
    .await
    .unwrap())
}

both_backends!(
    an_operator_may_not_see_or_change_the_rotas,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        assert_eq!(c.get_text("/admin/rotas").await.0, 403);
        assert_eq!(c.get_text(PAGE).await.0, 403);
        let contact = format!("contact:{}", contacts_of(UNIT)[0]);
        let r = c
            .submit(
                "/board",
                &format!("{PAGE}/shifts"),
                &[
                    ("weekday", "1"),
                    ("start", "08:00"),
                    ("end", "20:00"),
                    ("person", &contact),
                    ("role", "primary"),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 403);
        assert!(audited(&app, "rota.shift_add").await.is_empty());
    }
);

both_backends!(
    a_fresh_install_warns_only_about_the_night_operators,
    |app: TestApp| async move {
        let a = admin(&app).await;
        let (status, html) = a.get_text("/admin/rotas").await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("href=\"/admin/rotas\""), "the nav link");
        // Nobody is on the night operators' rota until an admin puts someone there.
        assert!(html.contains("data-gap=\"night_operators\""), "{html}");
        let dir = directory();
        for unit in &dir.units {
            if dir.contacts.iter().any(|c| c.unit == unit.code) {
                assert!(
                    !html.contains(&format!("data-gap=\"unit:{}\"", unit.code)),
                    "{} is covered around the clock",
                    unit.code
                );
            }
        }
        assert!(!html.contains("data-gap=\"coordinator\""));
        assert!(!html.contains("data-gap=\"mediators:"));
        assert!(!html.contains("data-stale="));
        // Every target is listed, the mediators by language among them.
        for key in [
            "unit:fi-pronta",
            "coordinator",
            "night_operators",
            "mediators:ru",
        ] {
            assert!(html.contains(&format!("data-target=\"{key}\"")), "{key}");
        }
        // Active operators are who the night rota offers; admins are not.
        let (status, night) = a.get_text("/admin/rotas/night_operators").await;
        assert_eq!(status, 200);
        assert!(night.contains(">operatrice</option>"), "{night}");
        assert!(!night.contains(">amministra</option>"));
        // A target written URL-encoded is the same page; a target that is none is 404.
        assert_eq!(a.get_text("/admin/rotas/unit%3Afi-pronta").await.0, 200);
        assert_eq!(a.get_text("/admin/rotas/mediators:ru").await.0, 200);
        assert_eq!(a.get_text("/admin/rotas/unit:nowhere").await.0, 404);
        assert_eq!(a.get_text("/admin/rotas/somebody").await.0, 404);
    }
);

both_backends!(
    removing_a_units_shifts_warns_and_an_override_puts_someone_on_call,
    |app: TestApp| async move {
        let a = admin(&app).await;
        let (_, html) = a.get_text(PAGE).await;
        let shifts = removal_ids(&html, &format!("{PAGE}/shifts/"));
        let contacts = contacts_of(UNIT);
        assert_eq!(shifts.len(), 7 * contacts.len(), "{html}");
        for id in &shifts {
            let r = a
                .submit(PAGE, &format!("{PAGE}/shifts/{id}/remove"), &[])
                .await;
            assert_eq!(r.status().as_u16(), 303);
            assert_eq!(location(&r), PAGE);
        }
        // Removing again is 404, not a second audit entry.
        let r = a
            .submit(PAGE, &format!("{PAGE}/shifts/{}/remove", shifts[0]), &[])
            .await;
        assert_eq!(r.status().as_u16(), 404);
        let (_, list) = a.get_text("/admin/rotas").await;
        assert!(list.contains("data-gap=\"unit:fi-pronta\""), "{list}");
        let (_, html) = a.get_text(PAGE).await;
        assert!(html.contains("Nessun turno settimanale."));

        // An override from an hour ago to three hours ahead: the backup takes over.
        let person = contacts.last().expect("a contact").clone();
        let now = Utc::now();
        let (from, to) = (
            local_field(now - Duration::hours(1)),
            local_field(now + Duration::hours(3)),
        );
        let reference = format!("contact:{person}");
        let r = a
            .submit(
                PAGE,
                &format!("{PAGE}/overrides"),
                &[
                    ("from", &from),
                    ("to", &to),
                    ("person", &reference),
                    ("role", "primary"),
                    ("mode", "replace"),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
        let (_, html) = a.get_text(PAGE).await;
        let shown = (now - Duration::hours(1))
            .with_timezone(&ROTA_TIME_ZONE)
            .format("%d/%m/%Y %H:%M")
            .to_string();
        assert!(html.contains(&shown), "{html}");
        assert!(html.contains(&format!("({person})")), "{html}");
        let target = Target::Unit(UNIT.into());
        let on_call = rota::on_call(&app.db, &target, Utc::now()).await.unwrap();
        assert_eq!(on_call.len(), 1);
        assert_eq!(on_call[0].person, Person::Contact(person.clone()));

        let overrides = removal_ids(&html, &format!("{PAGE}/overrides/"));
        assert_eq!(overrides.len(), 1);
        let r = a
            .submit(
                PAGE,
                &format!("{PAGE}/overrides/{}/remove", overrides[0]),
                &[],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        assert!(rota::on_call(&app.db, &target, Utc::now())
            .await
            .unwrap()
            .is_empty());

        // Every change is in the audit log, with codes and no names.
        assert_eq!(audited(&app, "rota.shift_remove").await.len(), shifts.len());
        let added = audited(&app, "rota.override_add").await;
        assert_eq!(added.len(), 1);
        assert!(added[0].contains(&reference), "{}", added[0]);
        let dir = directory();
        let name = &dir
            .contacts
            .iter()
            .find(|c| c.code == person)
            .expect("contact")
            .name;
        assert!(!added[0].contains(name.as_str()));
        assert_eq!(audited(&app, "rota.override_remove").await.len(), 1);
        let objects: Vec<String> = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
            "select distinct object_id from audit_log where object_kind = 'rota'"
        )
        .fetch_all(pool)
        .await
        .unwrap());
        assert_eq!(objects, vec!["unit:fi-pronta".to_string()]);
    }
);

both_backends!(
    a_bad_shift_is_refused_with_the_message_and_what_was_typed_kept,
    |app: TestApp| async move {
        let a = admin(&app).await;
        let (_, before) = a.get_text(PAGE).await;
        let count = removal_ids(&before, &format!("{PAGE}/shifts/")).len();
        let own = format!("contact:{}", contacts_of(UNIT)[0]);
        let console = &a;
        let shift = |end: &'static str, person: String| async move {
            console
                .submit(
                    PAGE,
                    &format!("{PAGE}/shifts"),
                    &[
                        ("weekday", "3"),
                        ("start", "22:00"),
                        ("end", end),
                        ("person", &person),
                        ("role", "backup"),
                    ],
                )
                .await
        };
        // A malformed end time.
        let r = shift("25:99", own.clone()).await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("Ora di fine non valida"), "{html}");
        assert!(html.contains("value=\"22:00\""), "the start is kept");
        assert!(
            html.contains("value=\"25:99\""),
            "the end is kept to correct"
        );
        assert!(
            html.contains("<option value=\"3\" selected>"),
            "the weekday"
        );
        assert!(html.contains(&format!("<option value=\"{own}\" selected>")));
        assert!(html.contains("<option value=\"backup\" selected>"));
        // Someone of another unit.
        let other = format!("contact:{}", contact_elsewhere(UNIT));
        let r = shift("06:00", other.clone()).await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!(
                "{other} non può essere reperibile per unit:fi-pronta"
            )),
            "{html}"
        );
        // An override that ends before it starts.
        let r = a
            .submit(
                PAGE,
                &format!("{PAGE}/overrides"),
                &[
                    ("from", "2030-05-02T10:00"),
                    ("to", "2030-05-01T10:00"),
                    ("person", &own),
                    ("role", "primary"),
                    ("mode", "add"),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("deve finire dopo"), "{html}");
        assert!(html.contains("value=\"2030-05-02T10:00\""));
        assert!(html.contains("<option value=\"add\" selected>"));
        // Nothing was stored or audited.
        let (_, after) = a.get_text(PAGE).await;
        assert_eq!(removal_ids(&after, &format!("{PAGE}/shifts/")).len(), count);
        assert!(audited(&app, "rota.shift_add").await.is_empty());
        assert!(audited(&app, "rota.override_add").await.is_empty());
        // A good one is added, shown across midnight, and audited.
        let r = shift("06:00", own.clone()).await;
        assert_eq!(r.status().as_u16(), 303);
        let (_, after) = a.get_text(PAGE).await;
        assert_eq!(
            removal_ids(&after, &format!("{PAGE}/shifts/")).len(),
            count + 1
        );
        assert!(after.contains("22:00 – 06:00 (giorno dopo)"), "{after}");
        let added = audited(&app, "rota.shift_add").await;
        assert_eq!(added.len(), 1);
        assert!(added[0].contains("\"start\":\"22:00\""), "{}", added[0]);
        assert!(added[0].contains(&own));
        // The same shift twice is refused.
        let r = shift("06:00", own.clone()).await;
        assert_eq!(r.status().as_u16(), 422);
        assert!(r.text().await.unwrap().contains("Questo turno c"));
    }
);

//! On-call rotas on both backends: the default rota seeded from the directory, who is on
//! call across midnight and the two nights the clocks change in 2026, overrides, gaps.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use helpline::auth::{users, Role};
use helpline::referral::directory::{ContactRole, Directory, EMBEDDED_DIRECTORY};
use helpline::referral::rota::{
    self, Override, OverrideMode, Person, RotaError, RotaRole, Source, Target, WeeklyShift,
};
use secrecy::SecretString;

use crate::both_backends;
use crate::helpers::TestApp;

fn directory() -> Directory {
    Directory::parse(EMBEDDED_DIRECTORY, "built-in").expect("directory")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn local(y: i32, mo: u32, d: u32, h: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, 0, 0)
        .unwrap()
}

fn time(h: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, 0, 0).unwrap()
}

/// A unit with both a primary and a backup contact: (unit, primaries, backups).
fn unit_with_backup(dir: &Directory) -> (String, Vec<String>, Vec<String>) {
    dir.units
        .iter()
        .map(|u| {
            let of = |role| {
                dir.contacts
                    .iter()
                    .filter(|c| c.unit == u.code && c.role == role)
                    .map(|c| format!("contact:{}", c.code))
                    .collect::<Vec<_>>()
            };
            (
                u.code.clone(),
                of(ContactRole::Primary),
                of(ContactRole::Backup),
            )
        })
        .find(|(_, p, b)| !p.is_empty() && !b.is_empty())
        .expect("a unit with a primary and a backup")
}

fn people(calls: &[rota::OnCall]) -> Vec<String> {
    calls.iter().map(|c| c.person.to_string()).collect()
}

async fn operator(app: &TestApp, name: &str) -> i64 {
    let password = SecretString::from("a long enough password".to_string());
    users::add(&app.db, name, Role::Operator, &password, false, Utc::now())
        .await
        .expect("operator")
}

both_backends!(
    a_fresh_install_has_everyone_in_the_directory_on_call_around_the_clock,
    |app: TestApp| async move {
        let dir = directory();
        // The service seeds at start; seeding again (another node starting) changes
        // nothing.
        rota::seed_from_directory(&app.db, &dir, Utc::now())
            .await
            .unwrap();
        let before = rota::load(&app.db, &Target::Coordinator, Utc::now(), Utc::now())
            .await
            .unwrap();
        assert_eq!(before.shifts.len(), 7, "the coordinator, every day");
        assert_eq!(
            rota::seed_from_directory(&app.db, &dir, Utc::now())
                .await
                .unwrap(),
            0
        );

        let (unit, primaries, backups) = unit_with_backup(&dir);
        let unit = Target::Unit(unit);
        // A Monday morning, midnight, and both nights the clocks change.
        for at in [
            utc(2026, 1, 12, 9, 0),
            utc(2026, 1, 12, 23, 0),
            utc(2026, 3, 29, 1, 30),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 1, 30),
        ] {
            let calls = rota::on_call(&app.db, &unit, at).await.unwrap();
            let expected: Vec<String> = primaries.iter().chain(&backups).cloned().collect();
            assert_eq!(people(&calls), expected, "{at}");
            assert_eq!(calls[0].role, RotaRole::Primary);
            assert_eq!(calls.last().unwrap().role, RotaRole::Backup);
        }
        let coordinator = rota::on_call(&app.db, &Target::Coordinator, utc(2026, 8, 15, 3, 0))
            .await
            .unwrap();
        assert_eq!(coordinator[0].person, Person::Coordinator);
        let russian = rota::on_call(
            &app.db,
            &"mediators:ru".parse().unwrap(),
            utc(2026, 8, 15, 3, 0),
        )
        .await
        .unwrap();
        assert!(people(&russian).contains(&"mediator:med-ru-1".to_string()));
        assert!(russian
            .iter()
            .all(|c| matches!(c.person, Person::Mediator(_))));

        // Over a week, only the night operators (users, not in the directory) and units
        // without contacts are uncovered, and those all week long.
        let (from, to) = (utc(2026, 3, 23, 0, 0), utc(2026, 3, 30, 0, 0));
        let coverage = rota::coverage(&app.db, &dir, from, to).await.unwrap();
        assert!(coverage.stale.is_empty(), "{:?}", coverage.stale);
        assert!(coverage
            .gaps
            .iter()
            .any(|g| g.target == Target::NightOperators));
        for g in &coverage.gaps {
            assert_eq!((g.from, g.to), (from, to), "{g:?}");
            if let Target::Unit(code) = &g.target {
                assert!(!dir.contacts.iter().any(|c| &c.unit == code), "{code}");
            } else {
                assert_eq!(g.target, Target::NightOperators);
            }
        }
    }
);

both_backends!(
    a_night_shift_lasts_nine_hours_in_march_and_eleven_in_october,
    |app: TestApp| async move {
        let dir = directory();
        let night = operator(&app, "notturna").await;
        let shift = WeeklyShift {
            weekday: Weekday::Sat,
            start: time(22),
            end: time(8),
            person: Person::User(night),
            role: RotaRole::Primary,
        };
        let id = rota::add_shift(
            &app.db,
            &dir,
            &Target::NightOperators,
            &shift,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
        let on = |at| {
            let db = app.db.clone();
            async move {
                rota::on_call(&db, &Target::NightOperators, at)
                    .await
                    .unwrap()
            }
        };

        // 28–29 March: 22:00 CET = 21:00 UTC to 08:00 CEST = 06:00 UTC.
        assert!(on(utc(2026, 3, 28, 20, 59)).await.is_empty());
        let spring = on(utc(2026, 3, 28, 21, 0)).await;
        assert_eq!(spring[0].person, Person::User(night));
        assert_eq!(spring[0].source, Source::Weekly(id));
        assert_eq!(spring[0].until - spring[0].from, Duration::hours(9));
        assert_eq!(on(utc(2026, 3, 29, 1, 30)).await.len(), 1, "03:30 CEST");
        assert_eq!(on(utc(2026, 3, 29, 5, 59)).await.len(), 1);
        assert!(on(utc(2026, 3, 29, 6, 0)).await.is_empty());

        // 24–25 October: 22:00 CEST = 20:00 UTC to 08:00 CET = 07:00 UTC, with the
        // repeated hour covered both times.
        assert!(on(utc(2026, 10, 24, 19, 59)).await.is_empty());
        let autumn = on(utc(2026, 10, 24, 20, 0)).await;
        assert_eq!(autumn[0].until - autumn[0].from, Duration::hours(11));
        assert_eq!(on(utc(2026, 10, 25, 0, 30)).await.len(), 1, "02:30 CEST");
        assert_eq!(on(utc(2026, 10, 25, 1, 30)).await.len(), 1, "02:30 CET");
        assert_eq!(on(utc(2026, 10, 25, 6, 59)).await.len(), 1);
        assert!(on(utc(2026, 10, 25, 7, 0)).await.is_empty());

        // The weekend of the spring change, Saturday 00:00 CET to Monday 00:00 CEST.
        let gaps = rota::gaps(
            &app.db,
            &Target::NightOperators,
            utc(2026, 3, 27, 23, 0),
            utc(2026, 3, 29, 22, 0),
        )
        .await
        .unwrap();
        assert_eq!(
            gaps,
            vec![
                (utc(2026, 3, 27, 23, 0), utc(2026, 3, 28, 21, 0)),
                (utc(2026, 3, 29, 6, 0), utc(2026, 3, 29, 22, 0)),
            ]
        );
    }
);

both_backends!(
    an_override_replaces_the_weekly_contact_until_it_ends_or_is_removed,
    |app: TestApp| async move {
        let dir = directory();
        rota::seed_from_directory(&app.db, &dir, Utc::now())
            .await
            .unwrap();
        let (unit, primaries, backups) = unit_with_backup(&dir);
        let unit = Target::Unit(unit);
        let stand_in: Person = backups[0].parse().unwrap();
        // The backup stands in as primary on the evening of 24 October, 20:00 to 04:00
        // local, across the change of the clocks (04:00 CET = 03:00 UTC).
        let swap = Override::from_local(
            local(2026, 10, 24, 20),
            local(2026, 10, 25, 4),
            stand_in.clone(),
            RotaRole::Primary,
            OverrideMode::Replace,
        );
        assert_eq!(
            (swap.from, swap.to),
            (utc(2026, 10, 24, 18, 0), utc(2026, 10, 25, 3, 0))
        );
        let id = rota::add_override(&app.db, &dir, &unit, &swap, None, Utc::now())
            .await
            .unwrap();

        let during = rota::on_call(&app.db, &unit, utc(2026, 10, 25, 1, 30))
            .await
            .unwrap();
        assert_eq!(during[0].person, stand_in);
        assert_eq!(during[0].role, RotaRole::Primary);
        assert_eq!(during[0].source, Source::Override(id));
        assert!(
            primaries.iter().all(|p| !people(&during).contains(p)),
            "the weekly primaries are replaced"
        );
        assert_eq!(
            people(&during).iter().filter(|p| **p == backups[0]).count(),
            1,
            "once, as primary"
        );

        let after = rota::on_call(&app.db, &unit, utc(2026, 10, 25, 3, 0))
            .await
            .unwrap();
        assert_eq!(people(&after)[..primaries.len()], primaries[..]);

        rota::remove_override(&app.db, id).await.unwrap();
        let removed = rota::on_call(&app.db, &unit, utc(2026, 10, 25, 1, 30))
            .await
            .unwrap();
        assert_eq!(people(&removed)[..primaries.len()], primaries[..]);
        assert!(matches!(
            rota::remove_override(&app.db, id).await,
            Err(RotaError::NotFound)
        ));
    }
);

both_backends!(
    rota_entries_are_checked_against_the_directory_and_the_users,
    |app: TestApp| async move {
        let dir = directory();
        let (unit, primaries, _) = unit_with_backup(&dir);
        let contact: Person = primaries[0].parse().unwrap();
        let other = dir.units.iter().find(|u| u.code != unit).unwrap();
        let shift = |person: Person| WeeklyShift {
            weekday: Weekday::Mon,
            start: time(8),
            end: time(20),
            person,
            role: RotaRole::Primary,
        };
        let add = |target: Target, s: WeeklyShift| {
            let (db, dir) = (app.db.clone(), dir.clone());
            async move { rota::add_shift(&db, &dir, &target, &s, None, Utc::now()).await }
        };

        assert!(matches!(
            add(Target::Unit(other.code.clone()), shift(contact.clone())).await,
            Err(RotaError::NotForTarget { .. })
        ));
        assert!(matches!(
            add(Target::Unit("nowhere".into()), shift(contact.clone())).await,
            Err(RotaError::UnknownUnit(_))
        ));
        let password = SecretString::from("a long enough password".to_string());
        let admin_id = users::add(
            &app.db,
            "amministra",
            Role::Admin,
            &password,
            false,
            Utc::now(),
        )
        .await
        .unwrap();
        assert!(matches!(
            add(Target::NightOperators, shift(Person::User(admin_id))).await,
            Err(RotaError::UnknownUser(_))
        ));
        let mut seconds = shift(contact.clone());
        seconds.start = NaiveTime::from_hms_opt(8, 0, 30).unwrap();
        assert!(matches!(
            add(Target::Unit(unit.clone()), seconds).await,
            Err(RotaError::InvalidTime)
        ));

        let id = add(Target::Unit(unit.clone()), shift(contact.clone()))
            .await
            .unwrap();
        assert!(matches!(
            add(Target::Unit(unit.clone()), shift(contact.clone())).await,
            Err(RotaError::Duplicate)
        ));
        let backwards = Override {
            from: utc(2026, 5, 1, 10, 0),
            to: utc(2026, 5, 1, 10, 0),
            person: contact.clone(),
            role: RotaRole::Primary,
            mode: OverrideMode::Add,
        };
        assert!(matches!(
            rota::add_override(
                &app.db,
                &dir,
                &Target::Unit(unit.clone()),
                &backwards,
                None,
                Utc::now()
            )
            .await,
            Err(RotaError::EmptyOverride)
        ));
        assert_eq!(
            rota::remove_shift(&app.db, id).await.unwrap(),
            Target::Unit(unit.clone())
        );
        assert!(matches!(
            rota::remove_shift(&app.db, id).await,
            Err(RotaError::NotFound)
        ));
    }
);

both_backends!(
    a_rota_emptied_on_purpose_stays_empty_and_is_flagged,
    |app: TestApp| async move {
        let dir = directory();
        rota::seed_from_directory(&app.db, &dir, Utc::now())
            .await
            .unwrap();
        let (from, to) = (utc(2026, 6, 1, 0, 0), utc(2026, 6, 8, 0, 0));
        let before = rota::load(&app.db, &Target::Coordinator, from, to)
            .await
            .unwrap();
        assert_eq!(before.shifts.len(), 7, "one whole day per weekday");
        for s in &before.shifts {
            rota::remove_shift(&app.db, s.id).await.unwrap();
        }
        rota::seed_from_directory(&app.db, &dir, Utc::now())
            .await
            .unwrap();
        assert!(rota::on_call(&app.db, &Target::Coordinator, from)
            .await
            .unwrap()
            .is_empty());
        let coverage = rota::coverage(&app.db, &dir, from, to).await.unwrap();
        assert!(coverage
            .gaps
            .iter()
            .any(|g| g.target == Target::Coordinator && (g.from, g.to) == (from, to)));

        // A contact who left the directory is flagged where the rota still names them.
        let (unit, primaries, _) = unit_with_backup(&dir);
        let gone = primaries[0].trim_start_matches("contact:").to_string();
        let mut changed = dir.clone();
        changed.contacts.retain(|c| c.code != gone);
        let coverage = rota::coverage(&app.db, &changed, from, to).await.unwrap();
        assert!(coverage
            .stale
            .contains(&(Target::Unit(unit), Person::Contact(gone))));
    }
);

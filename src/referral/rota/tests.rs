use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};

use super::*;
use crate::referral::directory::EMBEDDED_DIRECTORY;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn hours(interval: (DateTime<Utc>, DateTime<Utc>)) -> i64 {
    (interval.1 - interval.0).num_minutes() / 60
}

fn shift(weekday: Weekday, start: NaiveTime, end: NaiveTime, who: &str) -> WeeklyShift {
    WeeklyShift {
        weekday,
        start,
        end,
        person: Person::Contact(who.into()),
        role: RotaRole::Primary,
    }
}

fn rota(shifts: Vec<WeeklyShift>, overrides: Vec<Override>) -> Rota {
    Rota {
        target: Target::Unit("u".into()),
        shifts: shifts
            .into_iter()
            .enumerate()
            .map(|(i, value)| Stored {
                id: i as i64 + 1,
                value,
            })
            .collect(),
        overrides: overrides
            .into_iter()
            .enumerate()
            .map(|(i, value)| Stored {
                id: i as i64 + 100,
                value,
            })
            .collect(),
    }
}

fn people(calls: &[OnCall]) -> Vec<String> {
    calls.iter().map(|c| c.person.to_string()).collect()
}

#[test]
fn a_night_shift_on_the_spring_dst_night_lasts_nine_hours() {
    let (start, end) = shift_instants(date(2026, 3, 28), time(22, 0), time(8, 0));
    assert_eq!(start, utc(2026, 3, 28, 21, 0), "22:00 CET");
    assert_eq!(end, utc(2026, 3, 29, 6, 0), "08:00 CEST");
    assert_eq!(hours((start, end)), 9);
}

#[test]
fn a_night_shift_on_the_autumn_dst_night_lasts_eleven_hours() {
    let (start, end) = shift_instants(date(2026, 10, 24), time(22, 0), time(8, 0));
    assert_eq!(start, utc(2026, 10, 24, 20, 0), "22:00 CEST");
    assert_eq!(end, utc(2026, 10, 25, 7, 0), "08:00 CET");
    assert_eq!(hours((start, end)), 11);
}

#[test]
fn an_ordinary_night_shift_lasts_ten_hours() {
    for d in [date(2026, 3, 21), date(2026, 7, 11), date(2026, 10, 31)] {
        assert_eq!(hours(shift_instants(d, time(22, 0), time(8, 0))), 10, "{d}");
    }
}

#[test]
fn a_shift_ending_at_midnight_ends_at_the_start_of_the_next_day() {
    let (start, end) = shift_instants(date(2026, 1, 15), time(16, 0), time(0, 0));
    assert_eq!(start, utc(2026, 1, 15, 15, 0));
    assert_eq!(end, utc(2026, 1, 15, 23, 0), "midnight CET of the 16th");
}

#[test]
fn a_whole_day_shift_lasts_as_long_as_the_day() {
    let day = |d| hours(shift_instants(d, time(0, 0), time(0, 0)));
    assert_eq!(day(date(2026, 1, 15)), 24);
    assert_eq!(day(date(2026, 3, 29)), 23);
    assert_eq!(day(date(2026, 10, 25)), 25);
}

#[test]
fn a_skipped_local_time_means_the_end_of_the_gap() {
    // 02:30 on 29 March 2026 is never shown: the clocks jump from 02:00 to 03:00.
    let skipped = local_instant(date(2026, 3, 29).and_time(time(2, 30)));
    assert_eq!(skipped, utc(2026, 3, 29, 1, 0), "03:00 CEST");
    let (start, end) = shift_instants(date(2026, 3, 29), time(2, 0), time(2, 45));
    assert_eq!(start, end, "a shift wholly in the gap never happens");
}

#[test]
fn a_repeated_local_time_means_its_first_showing() {
    let repeated = local_instant(date(2026, 10, 25).and_time(time(2, 30)));
    assert_eq!(repeated, utc(2026, 10, 25, 0, 30), "02:30 CEST, not CET");
}

#[test]
fn shifts_that_meet_on_paper_meet_on_both_dst_nights() {
    for d in [date(2026, 3, 28), date(2026, 10, 24)] {
        let next = d.succ_opt().unwrap();
        let (_, first_end) = shift_instants(d, time(22, 0), time(2, 30));
        let (second_start, _) = shift_instants(next, time(2, 30), time(8, 0));
        assert_eq!(first_end, second_start, "{d}");
    }
}

#[test]
fn a_night_shift_covers_the_small_hours_of_the_next_day() {
    let r = rota(
        vec![shift(Weekday::Sat, time(22, 0), time(8, 0), "n")],
        vec![],
    );
    // Sunday 25 October 2026, in the repeated hour (02:30 CET) and just before the end.
    assert_eq!(
        people(&r.on_call_at(utc(2026, 10, 25, 1, 30))),
        ["contact:n"]
    );
    assert_eq!(
        people(&r.on_call_at(utc(2026, 10, 25, 6, 59))),
        ["contact:n"]
    );
    assert!(
        r.on_call_at(utc(2026, 10, 25, 7, 0)).is_empty(),
        "08:00 CET"
    );
    assert!(
        r.on_call_at(utc(2026, 10, 24, 19, 59)).is_empty(),
        "21:59 CEST"
    );
    let found = &r.on_call_at(utc(2026, 10, 24, 20, 0))[0];
    assert_eq!(
        (found.from, found.until),
        (utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 7, 0))
    );
}

#[test]
fn primaries_come_before_backups() {
    let mut backup = shift(Weekday::Mon, time(0, 0), time(0, 0), "b");
    backup.role = RotaRole::Backup;
    let r = rota(
        vec![backup, shift(Weekday::Mon, time(0, 0), time(0, 0), "p")],
        vec![],
    );
    let calls = r.on_call_at(utc(2026, 1, 12, 10, 0));
    assert_eq!(people(&calls), ["contact:p", "contact:b"]);
    assert_eq!(calls[1].role, RotaRole::Backup);
}

#[test]
fn an_override_replaces_the_weekly_contact() {
    let mut backup = shift(Weekday::Mon, time(0, 0), time(0, 0), "b");
    backup.role = RotaRole::Backup;
    let swap = Override::from_local(
        date(2026, 1, 12).and_time(time(9, 0)),
        date(2026, 1, 12).and_time(time(13, 0)),
        Person::Contact("x".into()),
        RotaRole::Primary,
        OverrideMode::Replace,
    );
    let r = rota(
        vec![shift(Weekday::Mon, time(0, 0), time(0, 0), "p"), backup],
        vec![swap],
    );
    let calls = r.on_call_at(utc(2026, 1, 12, 10, 0));
    assert_eq!(
        people(&calls),
        ["contact:x", "contact:b"],
        "backups untouched"
    );
    assert_eq!(calls[0].source, Source::Override(100));
    assert_eq!(
        people(&r.on_call_at(utc(2026, 1, 12, 12, 0))),
        ["contact:p", "contact:b"],
        "13:00 CET"
    );
}

#[test]
fn an_added_override_joins_the_weekly_contact() {
    let extra = Override {
        from: utc(2026, 1, 12, 0, 0),
        to: utc(2026, 1, 13, 0, 0),
        person: Person::Contact("x".into()),
        role: RotaRole::Primary,
        mode: OverrideMode::Add,
    };
    let r = rota(
        vec![shift(Weekday::Mon, time(0, 0), time(0, 0), "p")],
        vec![extra],
    );
    assert_eq!(
        people(&r.on_call_at(utc(2026, 1, 12, 10, 0))),
        ["contact:p", "contact:x"]
    );
}

#[test]
fn gaps_are_found_between_shifts() {
    let r = rota(
        vec![
            shift(Weekday::Mon, time(8, 0), time(14, 0), "a"),
            shift(Weekday::Mon, time(14, 0), time(20, 0), "b"),
            shift(Weekday::Mon, time(22, 0), time(8, 0), "c"),
        ],
        vec![],
    );
    // Monday 12 January 2026 00:00 CET to Wednesday 00:00 CET.
    let (from, to) = (utc(2026, 1, 11, 23, 0), utc(2026, 1, 13, 23, 0));
    assert_eq!(
        r.gaps(from, to),
        vec![
            (from, utc(2026, 1, 12, 7, 0)),
            (utc(2026, 1, 12, 19, 0), utc(2026, 1, 12, 21, 0)),
            (utc(2026, 1, 13, 7, 0), to),
        ]
    );
}

#[test]
fn an_override_fills_a_gap_and_whole_days_leave_none() {
    let fill = Override {
        from: utc(2026, 1, 12, 19, 0),
        to: utc(2026, 1, 12, 21, 0),
        person: Person::Contact("x".into()),
        role: RotaRole::Backup,
        mode: OverrideMode::Add,
    };
    let r = rota(
        vec![
            shift(Weekday::Mon, time(8, 0), time(20, 0), "a"),
            shift(Weekday::Mon, time(22, 0), time(8, 0), "c"),
        ],
        vec![fill],
    );
    assert!(r
        .gaps(utc(2026, 1, 12, 7, 0), utc(2026, 1, 13, 7, 0))
        .is_empty());
    let week = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    let all_week = rota(
        week.iter()
            .map(|d| shift(*d, time(0, 0), time(0, 0), "p"))
            .collect(),
        vec![],
    );
    let from = utc(2026, 3, 23, 0, 0);
    assert!(
        all_week.gaps(from, from + Duration::days(220)).is_empty(),
        "across both DST changes"
    );
}

#[test]
fn targets_and_people_read_back_as_written() {
    for s in [
        "unit:fi-strada",
        "coordinator",
        "night_operators",
        "mediators:pcm",
    ] {
        assert_eq!(s.parse::<Target>().unwrap().to_string(), s);
    }
    for s in ["unit:", "mediators:Pidgin", "night", "units:x"] {
        assert!(s.parse::<Target>().is_err(), "{s}");
    }
    for s in ["contact:c-1", "mediator:med-ru-1", "coordinator", "user:42"] {
        assert_eq!(s.parse::<Person>().unwrap().to_string(), s);
    }
    assert!("user:anna".parse::<Person>().is_err());
}

#[test]
fn people_must_belong_to_the_rota_they_are_put_on() {
    let dir = Directory::parse(EMBEDDED_DIRECTORY, "built-in").unwrap();
    let contact = &dir.contacts[0];
    let unit = Target::Unit(contact.unit.clone());
    let person = Person::Contact(contact.code.clone());
    assert!(check_entry(&dir, &unit, &person).is_ok());
    let other_unit = dir.units.iter().find(|u| u.code != contact.unit).unwrap();
    assert!(matches!(
        check_entry(&dir, &Target::Unit(other_unit.code.clone()), &person),
        Err(RotaError::NotForTarget { .. })
    ));
    assert!(matches!(
        check_entry(&dir, &Target::Unit("nowhere".into()), &person),
        Err(RotaError::UnknownUnit(_))
    ));
    assert!(check_entry(
        &dir,
        &Target::Mediators("ru".into()),
        &Person::Mediator("med-ru-1".into())
    )
    .is_ok());
    assert!(matches!(
        check_entry(
            &dir,
            &Target::Mediators("zh".into()),
            &Person::Mediator("med-ru-1".into())
        ),
        Err(RotaError::NotForTarget { .. })
    ));
    assert!(check_entry(&dir, &Target::Coordinator, &Person::Coordinator).is_ok());
    assert!(check_entry(&dir, &Target::Coordinator, &Person::User(1)).is_err());
    assert!(check_entry(&dir, &Target::NightOperators, &Person::User(1)).is_ok());
}

//! The call generator: repeatable, lawful lives, help-line shares.

use super::*;
use crate::referral::directory::EMBEDDED_DIRECTORY;

fn generator(seed: u64) -> Generator {
    let directory = Directory::parse(EMBEDDED_DIRECTORY, "built-in").unwrap();
    let day = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    Generator::new(
        seed,
        5_000,
        day("2025-01-01"),
        day("2025-12-31"),
        &directory,
        6,
    )
}

#[test]
fn the_same_seed_gives_the_same_calls() {
    let (a, b) = (generator(7), generator(7));
    for i in 0..2_000 {
        assert_eq!(a.plan(i), b.plan(i));
        assert_eq!(a.answered(i), a.plan(i).answered());
    }
    let other = generator(8);
    assert!((0..100).any(|i| other.plan(i) != a.plan(i)));
}

#[test]
fn every_call_follows_the_state_machine_in_time_order() {
    let g = generator(3);
    for i in 0..5_000 {
        let plan = g.plan(i);
        let (mut state, mut at) = (CallState::Offered, 0);
        for s in &plan.steps {
            assert!(state.can_become(s.state), "{state} → {}", s.state);
            assert!(s.after_ms >= at);
            (state, at) = (s.state, s.after_ms);
        }
    }
}

#[test]
fn shares_look_like_a_help_line() {
    let g = generator(11);
    let plans: Vec<CallPlan> = (0..5_000).map(|i| g.plan(i)).collect();
    let share = |f: &dyn Fn(&CallPlan) -> bool| {
        plans.iter().filter(|p| f(p)).count() as f64 / plans.len() as f64
    };
    let answered = share(&|p| p.answered());
    assert!((0.76..0.86).contains(&answered), "answered {answered}");
    let sip = share(&|p| p.channel == Channel::Sip);
    assert!((0.85..0.91).contains(&sip), "sip {sip}");
    let withheld = share(&|p| p.caller.is_none());
    assert!((0.12..0.18).contains(&withheld), "withheld {withheld}");
    let night = share(&|p| {
        let h = p.opened_at.with_timezone(&Rome).format("%H").to_string();
        matches!(h.as_str(), "00" | "01" | "02" | "03" | "04" | "05")
    });
    assert!((0.03..0.10).contains(&night), "night {night}");
    let mut numbers: Vec<&String> = plans.iter().filter_map(|p| p.caller.as_ref()).collect();
    let all = numbers.len();
    numbers.sort();
    numbers.dedup();
    assert!(numbers.len() < all, "some callers call again");
}

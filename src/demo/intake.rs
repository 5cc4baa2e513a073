//! Synthetic intakes: answers drawn from the questionnaire's own options, with shares like
//! those the regional reports give (who calls, exploitation by gender, the nationalities
//! and languages most met), then checked by the questionnaire like an operator's answers.
//! A weight naming an option the questionnaire does not have is ignored; a question
//! without any known weights is answered uniformly from its options.

use std::sync::LazyLock;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::random::weighted;
use crate::triage::{Answer, Answers, Questionnaire};

type Table = &'static [(&'static str, f64)];

const RELEVANCE: Table = &[
    ("pertinent", 50.0),
    ("not_pertinent", 38.0),
    ("prank_silent", 12.0),
];
const CALLER: Table = &[
    ("victim", 25.0),
    ("citizen", 22.0),
    ("client_friend_colleague", 12.0),
    ("police", 6.0),
    ("social_health_service", 14.0),
    ("antitrafficking_project", 8.0),
    ("third_sector", 8.0),
    ("asylum_system", 5.0),
];
const REASON: Table = &[
    ("help_exit", 22.0),
    ("report", 30.0),
    ("information", 28.0),
    ("technical_advice", 12.0),
    ("transfer", 8.0),
];
const DANGER: Table = &[("yes", 7.0), ("no", 70.0), ("unknown", 23.0)];
const GENDER: Table = &[
    ("female", 58.0),
    ("male", 35.0),
    ("transgender", 5.0),
    ("unknown", 2.0),
];
const AGE: Table = &[
    ("under_14", 1.5),
    ("14_17", 8.5),
    ("18_24", 30.0),
    ("25_34", 32.0),
    ("35_44", 15.0),
    ("45_plus", 6.0),
    ("unknown", 7.0),
];
const NATIONALITY_WOMEN: Table = &[
    ("NG", 34.0),
    ("RO", 16.0),
    ("AL", 7.0),
    ("BG", 5.0),
    ("CN", 7.0),
    ("UA", 4.0),
    ("BR", 3.0),
    ("MA", 3.0),
    ("CI", 2.0),
    ("GH", 2.0),
    ("IT", 3.0),
    ("unknown", 6.0),
];
const NATIONALITY_MEN: Table = &[
    ("PK", 14.0),
    ("BD", 12.0),
    ("IN", 12.0),
    ("MA", 11.0),
    ("SN", 10.0),
    ("NG", 8.0),
    ("RO", 9.0),
    ("AL", 6.0),
    ("CN", 4.0),
    ("EG", 4.0),
    ("TN", 3.0),
    ("GH", 3.0),
    ("unknown", 4.0),
];
const NATIONALITY_TRANS: Table = &[
    ("BR", 55.0),
    ("CO", 10.0),
    ("PE", 10.0),
    ("AR", 5.0),
    ("EC", 5.0),
    ("unknown", 15.0),
];
const EXPLOITATION_WOMEN: Table = &[
    ("sexual_street", 45.0),
    ("sexual_indoor", 28.0),
    ("labour_exploitation", 10.0),
    ("begging", 4.0),
    ("forced_marriage", 4.0),
    ("sexual_violence", 5.0),
    ("illegal_economies", 2.0),
    ("forced_labour", 2.0),
];
const EXPLOITATION_MEN: Table = &[
    ("labour_exploitation", 55.0),
    ("forced_labour", 15.0),
    ("begging", 10.0),
    ("illegal_economies", 12.0),
    ("sexual_street", 3.0),
    ("sexual_indoor", 2.0),
    ("sexual_violence", 3.0),
];
const EXPLOITATION_TRANS: Table = &[
    ("sexual_street", 55.0),
    ("sexual_indoor", 35.0),
    ("labour_exploitation", 5.0),
    ("illegal_economies", 5.0),
];
const SECTOR: Table = &[
    ("agriculture", 45.0),
    ("construction", 15.0),
    ("restaurants", 15.0),
    ("domestic_care", 18.0),
    ("other", 7.0),
];
const NEEDS: Table = &[
    ("information", 25.0),
    ("legal", 20.0),
    ("documents", 18.0),
    ("emergency_shelter", 10.0),
    ("shelter", 10.0),
    ("health", 10.0),
    ("psychological", 8.0),
    ("job", 10.0),
    ("assisted_return", 3.0),
];
const SHELTER_WHEN: Table = &[("tonight", 30.0), ("within_24h", 30.0), ("later", 40.0)];
const CONSENT: Table = &[("yes", 65.0), ("no", 35.0)];
const CALLBACK: Table = &[
    ("none", 30.0),
    ("caller_calls_again", 35.0),
    ("through_referring_body", 20.0),
    ("at_agreed_time", 15.0),
];
/// Where the person is, when the call gave no territory: the provinces by residents (as
/// for callers), and the places outside them.
static TERRITORY: LazyLock<Vec<(&'static str, f64)>> = LazyLock::new(|| {
    super::calls::POPULATION
        .iter()
        .copied()
        .chain([("outside_tuscany", 250.0), ("unknown", 200.0)])
        .collect()
});

/// The languages spoken by people of a nationality, most likely first.
fn languages_of(country: &str) -> Table {
    match country {
        "NG" => &[("en", 45.0), ("pcm", 35.0), ("bin", 20.0)],
        "RO" => &[("ro", 1.0)],
        "AL" => &[("sq", 1.0)],
        "BR" => &[("pt", 1.0)],
        "MA" | "EG" | "TN" => &[("ar", 1.0)],
        "CN" => &[("zh", 1.0)],
        "UA" => &[("uk", 60.0), ("ru", 40.0)],
        "BG" => &[("bg", 1.0)],
        "IN" => &[("pa", 50.0), ("hi", 50.0)],
        "PK" => &[("ur", 70.0), ("pa", 30.0)],
        "SN" => &[("wo", 60.0), ("fr", 40.0)],
        "CI" => &[("fr", 1.0)],
        "BD" => &[("bn", 1.0)],
        "GH" => &[("en", 50.0), ("tw", 50.0)],
        "CO" | "PE" | "AR" | "EC" => &[("es", 1.0)],
        "IT" => &[("it", 1.0)],
        _ => &[("unknown", 1.0)],
    }
}

/// Draws answers for one intake, shaped by the questionnaire. `territory` is the call's
/// hint from the landline prefix, if any. The answers still need checking.
pub fn answers(rng: &mut StdRng, q: &Questionnaire, territory: Option<&str>) -> Answers {
    let mut a = Answers::default();
    let one = |a: &mut Answers, rng: &mut StdRng, id: &str, table: Table| {
        if let Some(code) = choose(rng, q, id, table) {
            a.set(id, Answer::Choice(code));
        }
    };
    one(&mut a, rng, "relevance", RELEVANCE);
    if a.choice("relevance") != Some("pertinent") {
        return a;
    }
    one(&mut a, rng, "caller_type", CALLER);
    one(&mut a, rng, "reason", REASON);
    one(&mut a, rng, "danger", DANGER);
    if a.has("danger", "yes") {
        several(&mut a, rng, q, "emergency_situation", &[], 1..=2);
    }
    match territory.filter(|_| rng.gen_bool(0.85)) {
        Some(t)
            if q.question("territory")
                .is_some_and(|x| x.option(t).is_some()) =>
        {
            a.set("territory", Answer::Choice(t.to_string()));
        }
        _ => one(&mut a, rng, "territory", TERRITORY.as_slice()),
    }
    one(&mut a, rng, "gender", GENDER);
    one(&mut a, rng, "age_band", AGE);
    let minor = match a.choice("age_band") {
        Some("under_14" | "14_17") => "yes",
        Some("unknown") => ["unknown", "unknown", "no", "yes"][rng.gen_range(0..4)],
        Some("18_24") if rng.gen_bool(0.15) => "unknown",
        _ => "no",
    };
    a.set("minor", Answer::Choice(minor.into()));
    let (nationalities, exploitation) = match a.choice("gender") {
        Some("male") => (NATIONALITY_MEN, EXPLOITATION_MEN),
        Some("transgender") => (NATIONALITY_TRANS, EXPLOITATION_TRANS),
        _ => (NATIONALITY_WOMEN, EXPLOITATION_WOMEN),
    };
    one(&mut a, rng, "nationality", nationalities);
    let country = a.choice("nationality").unwrap_or("unknown").to_string();
    // One in ten speaks Italian well whatever the nationality.
    let language = if rng.gen_bool(0.1) {
        &[("it", 1.0)][..]
    } else {
        languages_of(&country)
    };
    one(&mut a, rng, "language", language);
    let how_many = if rng.gen_bool(0.85) { 1..=1 } else { 2..=2 };
    several(&mut a, rng, q, "exploitation", exploitation, how_many);
    if a.has("exploitation", "labour_exploitation") {
        several(&mut a, rng, q, "labour_sector", SECTOR, 1..=2);
    }
    several(&mut a, rng, q, "indicators", &[], 1..=5);
    several(&mut a, rng, q, "needs", NEEDS, 1..=3);
    if a.has("danger", "yes") && rng.gen_bool(0.7) {
        let mut needs = match a.get("needs") {
            Some(Answer::Choices(n)) => n.clone(),
            _ => Vec::new(),
        };
        if !needs.iter().any(|n| n == "emergency_shelter") {
            needs.push("emergency_shelter".into());
            a.set("needs", Answer::Choices(needs));
        }
    }
    one(&mut a, rng, "shelter_when", SHELTER_WHEN);
    one(&mut a, rng, "consent_referral", CONSENT);
    one(&mut a, rng, "callback", CALLBACK);
    a
}

/// One option of question `id`: by the table's weights among the options it has, else
/// uniformly; `None` when the questionnaire has no such question.
fn choose(rng: &mut StdRng, q: &Questionnaire, id: &str, table: Table) -> Option<String> {
    let question = q.question(id)?;
    let known: Vec<(&str, f64)> = table
        .iter()
        .filter(|(code, _)| question.option(code).is_some())
        .copied()
        .collect();
    match weighted(rng, &known) {
        Some(code) => Some(code.to_string()),
        None => question.options.choose(rng).map(|o| o.code.clone()),
    }
}

/// Several distinct options of question `id`, how many drawn from `count`.
fn several(
    a: &mut Answers,
    rng: &mut StdRng,
    q: &Questionnaire,
    id: &str,
    table: Table,
    count: std::ops::RangeInclusive<usize>,
) {
    let n = rng.gen_range(count);
    let mut chosen: Vec<String> = Vec::with_capacity(n);
    // A few more draws than needed: weighted draws repeat the likely options.
    for _ in 0..n * 4 {
        if chosen.len() == n {
            break;
        }
        if let Some(code) = choose(rng, q, id, table) {
            if !chosen.contains(&code) {
                chosen.push(code);
            }
        }
    }
    if !chosen.is_empty() {
        a.set(id, Answer::Choices(chosen));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::item_rng;
    use crate::triage::questionnaire::EMBEDDED_INTAKE;

    fn questionnaire() -> Questionnaire {
        Questionnaire::parse(EMBEDDED_INTAKE, "built-in").unwrap()
    }

    #[test]
    fn drawn_answers_pass_the_questionnaire_and_repeat_with_the_seed() {
        let q = questionnaire();
        for i in 0..2_000 {
            let a = answers(&mut item_rng(5, 9, i), &q, Some("FI"));
            assert_eq!(a, answers(&mut item_rng(5, 9, i), &q, Some("FI")));
            let kept = q.check(&a).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(kept.choice("relevance"), a.choice("relevance"));
        }
    }

    #[test]
    fn most_women_are_nigerian_or_romanian_and_most_men_exploited_at_work() {
        let q = questionnaire();
        let all: Vec<Answers> = (0..4_000)
            .map(|i| answers(&mut item_rng(6, 9, i), &q, None))
            .collect();
        let women: Vec<&Answers> = all.iter().filter(|a| a.has("gender", "female")).collect();
        let ng_ro = women
            .iter()
            .filter(|a| a.has("nationality", "NG") || a.has("nationality", "RO"))
            .count();
        assert!(ng_ro * 2 > women.len(), "{ng_ro} of {}", women.len());
        let men: Vec<&Answers> = all.iter().filter(|a| a.has("gender", "male")).collect();
        let work = men
            .iter()
            .filter(|a| {
                a.has("exploitation", "labour_exploitation")
                    || a.has("exploitation", "forced_labour")
            })
            .count();
        assert!(work * 2 > men.len(), "{work} of {}", men.len());
    }
}

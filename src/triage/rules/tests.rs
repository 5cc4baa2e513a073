//! Tests of the triage rules: the shipped file, evaluation and the errors a region's
//! author sees.

use super::*;
use crate::referral::directory::{Directory, EMBEDDED_DIRECTORY};
use crate::triage::answers::{Answer, Answers};
use crate::triage::questionnaire::{Questionnaire, EMBEDDED_INTAKE};

/// The shipped questionnaire: the rules name its questions and options.
fn questionnaire() -> Questionnaire {
    Questionnaire::parse(EMBEDDED_INTAKE, "intake.toml").unwrap()
}

/// The shipped directory's service codes.
fn services() -> Vec<String> {
    Directory::parse(EMBEDDED_DIRECTORY, "directory.toml")
        .unwrap()
        .services
        .into_iter()
        .map(|s| s.code)
        .collect()
}

fn validate(rules: &TriageRules) -> Result<(), TriageError> {
    let services = services();
    let codes: Vec<&str> = services.iter().map(String::as_str).collect();
    rules.validate(&questionnaire(), &codes)
}

fn shipped() -> TriageRules {
    TriageRules::parse(EMBEDDED_TRIAGE, "triage.toml").unwrap()
}

fn answers(pairs: &[(&str, &str)]) -> Answers {
    let mut a = Answers::default();
    for (q, o) in pairs {
        a.set(*q, Answer::Choice((*o).into()));
    }
    a
}

fn with_several(mut a: Answers, question: &str, options: &[&str]) -> Answers {
    a.set(
        question,
        Answer::Choices(options.iter().map(|o| (*o).to_string()).collect()),
    );
    a
}

#[test]
fn the_shipped_rules_validate_against_the_shipped_questionnaire_codes() {
    validate(&shipped()).unwrap();
}

#[test]
fn a_minor_in_immediate_danger_is_p1_with_both_reasons() {
    let t = shipped().evaluate(&answers(&[("minor", "yes"), ("danger", "yes")]));
    assert_eq!(t.priority, Priority::P1);
    assert_eq!(t.summary_it(), "P1: minore a rischio, pericolo immediato");
    assert_eq!(t.summary_en(), "P1: minor at risk, immediate danger");
    assert_eq!(t.matched, ["minor_at_risk", "immediate_danger"]);
    assert_eq!(t.services, ["emergency_shelter"]);
}

#[test]
fn a_minor_with_any_exploitation_is_p1_even_without_danger() {
    let a = with_several(answers(&[("minor", "yes")]), "exploitation", &["begging"]);
    let t = shipped().evaluate(&a);
    assert_eq!(t.summary_it(), "P1: minore a rischio");
}

#[test]
fn a_minor_involved_in_the_emergency_is_p1_whatever_the_minor_answer() {
    let a = with_several(
        answers(&[("danger", "yes"), ("minor", "unknown")]),
        "emergency_situation",
        &["minor_involved"],
    );
    let t = shipped().evaluate(&a);
    assert_eq!(t.priority, Priority::P1);
    assert_eq!(t.matched, ["minor_at_risk", "immediate_danger"]);
}

#[test]
fn a_minor_without_danger_or_exploitation_is_not_p1() {
    let t = shipped().evaluate(&answers(&[("minor", "yes"), ("danger", "no")]));
    assert_ne!(t.priority, Priority::P1);
}

#[test]
fn no_matching_rule_gives_the_default_priority() {
    let t = shipped().evaluate(&answers(&[("danger", "no")]));
    assert_eq!(t.priority, Priority::P4);
    assert!(t.matched.is_empty());
    assert_eq!(t.summary_it(), "P4: nessun criterio di urgenza");
    assert!(t.services.is_empty());
}

#[test]
fn the_most_urgent_rule_wins_and_only_its_reasons_are_given() {
    let a = with_several(
        answers(&[("reason", "help_exit"), ("shelter_when", "tonight")]),
        "needs",
        &["legal"],
    );
    let t = shipped().evaluate(&a);
    assert_eq!(t.summary_en(), "P1: shelter needed tonight");
    assert_eq!(t.matched, ["shelter_tonight", "exit_request", "legal_need"]);
    assert_eq!(t.services, ["emergency_shelter", "legal"]);
}

#[test]
fn an_exit_request_is_p2_and_a_report_is_p3_with_a_listening_desk() {
    let rules = shipped();
    let exit = rules.evaluate(&answers(&[("reason", "help_exit")]));
    assert_eq!(exit.summary_it(), "P2: richiesta di uscita");
    let report = rules.evaluate(&answers(&[("reason", "report")]));
    assert_eq!(report.summary_it(), "P3: colloquio di valutazione");
    assert_eq!(report.services, ["listening"]);
}

#[test]
fn an_irrelevant_call_is_p4_unless_something_more_urgent_holds() {
    let rules = shipped();
    let prank = rules.evaluate(&answers(&[("relevance", "prank_silent")]));
    assert_eq!(prank.summary_it(), "P4: non pertinente");
    let danger = rules.evaluate(&answers(&[
        ("relevance", "not_pertinent"),
        ("danger", "yes"),
    ]));
    assert_eq!(danger.priority, Priority::P1);
}

#[test]
fn needs_map_to_services_without_repeats_in_file_order() {
    let a = with_several(
        answers(&[("danger", "yes"), ("reason", "report")]),
        "needs",
        &["legal", "emergency_shelter", "health"],
    );
    let a = with_several(a, "exploitation", &["sexual_street"]);
    let t = shipped().evaluate(&a);
    assert_eq!(
        t.services,
        [
            "emergency_shelter",
            "health",
            "legal",
            "outreach",
            "listening"
        ]
    );
}

#[test]
fn the_safety_script_reads_the_matching_lines_and_always_the_last_one() {
    let rules = shipped();
    let calm = rules.evaluate(&answers(&[("reason", "information")]));
    assert_eq!(calm.safety.len(), 1);
    assert!(calm.safety[0].it.starts_with("Non chiedere nomi né numeri"));

    let a = with_several(
        answers(&[("danger", "yes"), ("minor", "yes")]),
        "emergency_situation",
        &["medical"],
    );
    let urgent = rules.evaluate(&a);
    let it: Vec<&str> = urgent.safety.iter().map(|t| t.it.as_str()).collect();
    assert_eq!(it.len(), 4, "{it:?}");
    assert!(it[0].starts_with("Se la persona è in pericolo adesso, chiama il 112"));
    assert!(it[1].contains("114 Emergenza Infanzia") && it[1].contains("112"));
    assert!(it[2].contains("118"));
}

#[test]
fn a_triage_round_trips_through_json() {
    let t = shipped().evaluate(&answers(&[("danger", "yes")]));
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.contains(r#""priority":"P1""#), "{json}");
    assert_eq!(serde_json::from_str::<Triage>(&json).unwrap(), t);
}

#[test]
fn an_unknown_question_in_a_rule_is_refused_naming_the_key() {
    let text = EMBEDDED_TRIAGE.replacen(
        r#"when = { question = "reason", is = "help_exit" }"#,
        r#"when = { question = "motivo", is = "help_exit" }"#,
        1,
    );
    let err = validate(&TriageRules::parse(&text, "triage.toml").unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "triage.toml: key `rules[5].when`: unknown question `motivo`"
    );
}

#[test]
fn an_unknown_option_in_a_safety_line_is_refused_naming_the_key() {
    let text = EMBEDDED_TRIAGE.replacen(
        "is = \"medical\" }\ntext.it",
        "is = \"medic\" }\ntext.it",
        1,
    );
    let err = validate(&TriageRules::parse(&text, "triage.toml").unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "triage.toml: key `safety[3].when`: question `emergency_situation` has no option `medic`"
    );
}

#[test]
fn an_unknown_service_is_refused_with_the_known_ones() {
    let text = EMBEDDED_TRIAGE.replacen(r#"codes = ["outreach"]"#, r#"codes = ["street"]"#, 1);
    let err = validate(&TriageRules::parse(&text, "triage.toml").unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("triage.toml: key `services[10].codes`: unknown service `street`"),
        "{err}"
    );
    assert!(err.contains("expected one of outreach, listening"), "{err}");
}

#[test]
fn a_duplicate_rule_id_is_refused() {
    let text = EMBEDDED_TRIAGE.replacen(r#"id = "exit_request""#, r#"id = "shelter_tonight""#, 1);
    let err = TriageRules::parse(&text, "triage.toml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "triage.toml: key `rules[5].id`: `shelter_tonight` appears twice; expected a unique id"
    );
}

#[test]
fn unknown_keys_and_priorities_are_refused_with_the_line() {
    let err = TriageRules::parse(
        "default_priority = \"P4\"\ndefault_reason = { it = \"x\", en = \"x\" }\nrules = []\nurgency = 1\n",
        "triage.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("unknown field `urgency`") && err.contains("line 4"),
        "{err}"
    );
    let err = TriageRules::parse(
        "default_priority = \"P5\"\ndefault_reason = { it = \"x\", en = \"x\" }\nrules = []\n",
        "triage.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("P5") && err.contains("line 1"), "{err}");
}

#[test]
fn a_reason_missing_its_english_is_refused() {
    let text =
        EMBEDDED_TRIAGE.replacen(r#"reason.en = "medical emergency""#, r#"reason.en = """#, 1);
    let err = TriageRules::parse(&text, "triage.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("key `rules[3].reason`"), "{err}");
}

#[test]
fn a_missing_file_falls_back_to_the_embedded_rules_only_when_allowed() {
    let missing = Path::new("/nonexistent/triage.toml");
    assert!(TriageRules::load(missing, true).is_ok());
    let err = TriageRules::load(missing, false).unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/triage.toml: "), "{err}");
}

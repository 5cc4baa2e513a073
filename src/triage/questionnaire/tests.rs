//! Tests of the questionnaire: the shipped intake, a region's mistakes in the file, and
//! intakes walked through as an operator would.

use super::*;
use crate::triage::answers::{Answer, Answers};

fn shipped() -> Questionnaire {
    Questionnaire::parse(EMBEDDED_INTAKE, "intake.toml").unwrap()
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn step_ids(q: &Questionnaire, answers: &Answers) -> Vec<String> {
    q.visible_steps(answers).map(|s| s.id.clone()).collect()
}

fn error_text(text: &str) -> String {
    Questionnaire::parse(text, "intake.toml")
        .unwrap_err()
        .to_string()
}

const MINIMAL: &str = r#"
[[steps]]
id = "first"
title = { it = "Primo", en = "First" }

[[steps.questions]]
id = "danger"
kind = "yes_no_unknown"
label = { it = "Pericolo?", en = "Danger?" }

[[steps]]
id = "second"
title = { it = "Secondo", en = "Second" }

[[steps.questions]]
id = "needs"
kind = "multiple"
label = { it = "Bisogni", en = "Needs" }
options = [{ code = "shelter", it = "Casa", en = "Shelter" }]
"#;

#[test]
fn the_shipped_intake_parses_and_validates() {
    let q = shipped();
    q.validate().unwrap();
    assert!(q.question("notes").unwrap().warning.is_some());
    assert_eq!(
        q.question("notes").unwrap().warning.as_ref().unwrap().it,
        "Non scrivere nomi, numeri di telefono, indirizzi e-mail, documenti o codici fiscali."
    );
}

#[test]
fn the_shipped_intake_offers_every_code_the_triage_rules_name() {
    let q = shipped();
    let expected: &[(&str, &[&str])] = &[
        ("relevance", &["pertinent", "not_pertinent", "prank_silent"]),
        (
            "caller_type",
            &[
                "victim",
                "citizen",
                "client_friend_colleague",
                "police",
                "social_health_service",
                "antitrafficking_project",
                "third_sector",
                "asylum_system",
            ],
        ),
        (
            "reason",
            &[
                "help_exit",
                "report",
                "information",
                "technical_advice",
                "transfer",
            ],
        ),
        ("danger", &["yes", "no", "unknown"]),
        (
            "emergency_situation",
            &[
                "medical",
                "shelter_tonight",
                "held_or_threatened",
                "minor_involved",
                "violence_now",
            ],
        ),
        (
            "territory",
            &[
                "AR",
                "FI",
                "GR",
                "LI",
                "LU",
                "MS",
                "PI",
                "PT",
                "PO",
                "SI",
                "outside_tuscany",
                "unknown",
            ],
        ),
        ("gender", &["female", "male", "transgender", "unknown"]),
        (
            "age_band",
            &[
                "under_14", "14_17", "18_24", "25_34", "35_44", "45_plus", "unknown",
            ],
        ),
        ("minor", &["yes", "no", "unknown"]),
        ("nationality", &["NG", "RO", "AL", "unknown"]),
        ("language", &["it", "en", "pcm", "bin", "unknown"]),
        (
            "exploitation",
            &[
                "sexual_street",
                "sexual_indoor",
                "begging",
                "forced_labour",
                "labour_exploitation",
                "sexual_violence",
                "illegal_economies",
                "forced_marriage",
            ],
        ),
        (
            "labour_sector",
            &[
                "agriculture",
                "construction",
                "restaurants",
                "domestic_care",
                "other",
            ],
        ),
        (
            "indicators",
            &[
                "deceptive_job_conditions",
                "coercion_documents_withheld",
                "coercion_debt_bondage",
            ],
        ),
        (
            "needs",
            &[
                "emergency_shelter",
                "shelter",
                "health",
                "psychological",
                "legal",
                "documents",
                "job",
                "information",
                "assisted_return",
            ],
        ),
        ("shelter_when", &["tonight", "within_24h", "later"]),
        ("consent_referral", &["yes", "no"]),
        (
            "callback",
            &[
                "none",
                "caller_calls_again",
                "through_referring_body",
                "at_agreed_time",
            ],
        ),
    ];
    for (question, options) in expected {
        for option in *options {
            assert!(q.has_option(question, option), "{question}: {option}");
        }
    }
    for text in ["municipality", "callback_time", "notes"] {
        assert_eq!(q.question(text).unwrap().kind, QuestionKind::Text);
    }
    assert_eq!(q.question("relevance").unwrap().options.len(), 3);
}

#[test]
fn indicators_are_grouped_by_the_five_operational_groups() {
    let q = shipped();
    let indicators = q.question("indicators").unwrap();
    assert_eq!(indicators.groups.len(), 5);
    for (group, prefix) in indicators.groups.iter().zip([
        "deceptive_",
        "coercive_",
        "vulnerability_",
        "exploitative_",
        "coercion_",
    ]) {
        let options: Vec<_> = indicators.options_in(&group.code).collect();
        assert!((3..=6).contains(&options.len()), "{}", group.code);
        assert!(options.iter().all(|o| o.code.starts_with(prefix)));
    }
}

#[test]
fn the_danger_question_comes_right_after_the_caller_and_yes_opens_the_emergency_step() {
    let q = shipped();
    let ids: Vec<&str> = q.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(&ids[..4], ["relevance", "caller", "danger", "emergency"]);
    let mut a = q
        .answers_from_form(&form(&[("relevance", "pertinent"), ("danger", "no")]))
        .unwrap();
    assert!(!step_ids(&q, &a).contains(&"emergency".to_string()));
    a.set("danger", Answer::Choice("yes".into()));
    assert_eq!(
        &step_ids(&q, &a)[..4],
        ["relevance", "caller", "danger", "emergency"]
    );
}

#[test]
fn a_call_that_is_not_pertinent_shows_only_relevance_and_notes() {
    let q = shipped();
    let mut a = Answers::default();
    a.set("relevance", Answer::Choice("prank_silent".into()));
    a.set("danger", Answer::Choice("yes".into()));
    a.set("needs", Answer::Choices(vec!["health".into()]));
    a.set("notes", Answer::Text("  chiamata muta  ".into()));
    assert_eq!(step_ids(&q, &a), ["relevance", "notes"]);
    let kept = q.check(&a).unwrap();
    assert_eq!(kept.0.len(), 2);
    assert_eq!(
        kept.get("notes"),
        Some(&Answer::Text("chiamata muta".into()))
    );
}

#[test]
fn a_typical_intake_goes_through_the_form_and_the_check() {
    let q = shipped();
    let posted = form(&[
        ("_csrf", "token"),
        ("_step", "needs"),
        ("relevance", "pertinent"),
        ("caller_type", "victim"),
        ("reason", "help_exit"),
        ("danger", "yes"),
        ("emergency_situation", "minor_involved"),
        ("territory", ""),
        ("minor", "yes"),
        ("nationality", "NG"),
        ("language", "pcm"),
        ("exploitation", "sexual_street"),
        ("indicators", "coercion_debt_bondage"),
        ("indicators", "coercion_documents_withheld"),
        ("needs", "emergency_shelter"),
        ("shelter_when", "tonight"),
        ("notes", "Chiama da una stazione, ha paura della madame."),
    ]);
    let answers = q.answers_from_form(&posted).unwrap();
    assert!(answers.get("territory").is_none());
    let kept = q.check(&answers).unwrap();
    assert!(kept.has("emergency_situation", "minor_involved"));
    assert_eq!(kept.choice("language"), Some("pcm"));
    assert_eq!(kept.choice("shelter_when"), Some("tonight"));
    // Several choices are kept in the questionnaire's order, not the form's.
    assert_eq!(
        kept.get("indicators"),
        Some(&Answer::Choices(vec![
            "coercion_documents_withheld".into(),
            "coercion_debt_bondage".into()
        ]))
    );
    let shown: Vec<&str> = q
        .visible_questions(q.step("needs").unwrap(), &kept)
        .map(|q| q.id.as_str())
        .collect();
    assert_eq!(shown, ["needs", "shelter_when"]);
}

#[test]
fn answers_to_questions_hidden_by_a_changed_answer_are_dropped() {
    let q = shipped();
    let mut a = q
        .answers_from_form(&form(&[
            ("relevance", "pertinent"),
            ("danger", "yes"),
            ("emergency_situation", "medical"),
            ("needs", "shelter"),
            ("shelter_when", "later"),
        ]))
        .unwrap();
    a.set("danger", Answer::Choice("no".into()));
    a.set("needs", Answer::Choices(vec!["legal".into()]));
    let kept = q.check(&a).unwrap();
    assert!(kept.get("emergency_situation").is_none());
    assert!(kept.get("shelter_when").is_none());
    assert!(kept.has("needs", "legal"));
}

#[test]
fn unknown_questions_options_and_wrong_kinds_are_refused_per_question() {
    let q = shipped();
    let mut a = Answers::default();
    a.set("relevance", Answer::Choice("pertinent".into()));
    a.set("danger", Answer::Choice("maybe".into()));
    a.set("needs", Answer::Choice("health".into()));
    a.set("nationality", Answer::Choice("XX".into()));
    a.set("favourite_colour", Answer::Choice("blue".into()));
    let errors = q.check(&a).unwrap_err();
    let questions: Vec<&str> = errors.iter().map(|e| e.question.as_str()).collect();
    assert_eq!(
        questions,
        ["favourite_colour", "danger", "nationality", "needs"]
    );
    assert_eq!(errors[1].message.en, "Not an option of this question.");
    assert_eq!(
        errors[3].message.it,
        "Tipo di risposta sbagliato per questa domanda."
    );
}

#[test]
fn a_draft_may_leave_required_questions_unanswered_but_a_final_intake_may_not() {
    let q = shipped();
    let a = q
        .answers_from_form(&form(&[("caller_type", "police")]))
        .unwrap();
    assert!(q.check_draft(&a).unwrap().has("caller_type", "police"));
    let errors = q.check(&a).unwrap_err();
    let missing: Vec<&str> = errors.iter().map(|e| e.question.as_str()).collect();
    assert_eq!(missing, ["relevance", "danger"]);
    assert_eq!(errors[0].message.it, "Risposta obbligatoria.");
}

#[test]
fn identifying_data_in_free_text_is_refused_without_repeating_it() {
    let q = shipped();
    let a = q
        .answers_from_form(&form(&[
            ("relevance", "pertinent"),
            ("danger", "no"),
            ("callback", "at_agreed_time"),
            ("callback_time", "martedì dopo le 18, al 333 1234567"),
            ("notes", "scrive da mario.rossi@example.it"),
        ]))
        .unwrap();
    let errors = q.check_draft(&a).unwrap_err();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].question, "callback_time");
    assert!(errors[0].message.it.contains("numero di telefono"));
    assert_eq!(errors[1].question, "notes");
    assert!(errors[1].message.en.contains("e-mail address"));
    assert!(!format!("{errors:?}").contains("1234567"));
    assert!(!format!("{errors:?}").contains("rossi"));
}

#[test]
fn a_form_refuses_unknown_fields_and_two_answers_to_a_single_question() {
    let q = shipped();
    let errors = q
        .answers_from_form(&form(&[
            ("relevance", "pertinent"),
            ("relevance", "not_pertinent"),
            ("name", "Mario"),
            ("name", "Rossi"),
            ("_action", "next"),
        ]))
        .unwrap_err();
    let questions: Vec<&str> = errors.iter().map(|e| e.question.as_str()).collect();
    assert_eq!(questions, ["name", "relevance"]);
    assert_eq!(errors[1].message.en, "Only one answer to this question.");
}

#[test]
fn country_and_language_questions_offer_the_built_in_lists_and_unknown() {
    let q = shipped();
    let nationality = q.question("nationality").unwrap();
    assert_eq!(nationality.options.len(), 251);
    assert_eq!(nationality.options[0].it, "Afghanistan");
    assert_eq!(nationality.options.last().unwrap().code, UNKNOWN);
    let language = q.question("language").unwrap();
    assert_eq!(language.option("pcm").unwrap().it, "Pidgin nigeriano");
    assert!(language.option(UNKNOWN).is_some());
}

#[test]
fn a_condition_on_a_later_question_is_refused_with_its_key() {
    let text = MINIMAL.replace(
        "id = \"danger\"",
        "id = \"danger\"\nshow_if = { question = \"needs\", is = \"shelter\" }",
    );
    let err = error_text(&text);
    assert!(
        err.starts_with("intake.toml: key `steps[0].questions[0].show_if`: names a question asked only at or after"),
        "{err}"
    );
}

#[test]
fn a_condition_on_an_unknown_option_is_refused_with_its_key() {
    let text = MINIMAL.replace(
        "id = \"second\"",
        "id = \"second\"\nshow_if = { question = \"danger\", is = \"maybe\" }",
    );
    let err = error_text(&text);
    assert_eq!(
        err,
        "intake.toml: key `steps[1].show_if`: question `danger` has no option `maybe`"
    );
}

#[test]
fn duplicate_ids_and_missing_options_are_refused() {
    let err = error_text(&MINIMAL.replace("id = \"needs\"", "id = \"danger\""));
    assert!(
        err.contains("key `steps[1].questions[0].id`: question `danger` appears twice"),
        "{err}"
    );
    let err = error_text(&MINIMAL.replace(
        "options = [{ code = \"shelter\", it = \"Casa\", en = \"Shelter\" }]",
        "",
    ));
    assert!(
        err.contains("key `steps[1].questions[0].options`: empty"),
        "{err}"
    );
    let err = error_text(&MINIMAL.replace(
        "kind = \"yes_no_unknown\"",
        "kind = \"yes_no_unknown\"\noptions = [{ code = \"si\", it = \"Sì\", en = \"Yes\" }]",
    ));
    assert!(
        err.contains("takes its options from the built-in list"),
        "{err}"
    );
}

#[test]
fn unknown_keys_and_kinds_are_refused_naming_the_key_and_the_line() {
    let err = error_text(&MINIMAL.replace("kind = \"multiple\"", "kind = \"checkboxes\""));
    assert!(err.contains("key `steps[1].questions[0].kind`"), "{err}");
    assert!(err.contains("unknown variant `checkboxes`"), "{err}");
    assert!(err.contains("line 17"), "{err}");
    let err = error_text(&MINIMAL.replace("label =", "lable ="));
    assert!(err.contains("unknown field `lable`"), "{err}");
}

#[test]
fn options_must_name_a_group_of_their_question() {
    let text = MINIMAL.replace(
        "options = [{ code = \"shelter\", it = \"Casa\", en = \"Shelter\" }]",
        "groups = [{ code = \"home\", it = \"Casa\", en = \"Home\" }]\noptions = [{ code = \"shelter\", it = \"Casa\", en = \"Shelter\", group = \"house\" }]",
    );
    let err = error_text(&text);
    assert!(
        err.contains("unknown group `house`; expected one of home"),
        "{err}"
    );
}

#[test]
fn a_missing_file_falls_back_to_the_built_in_intake_only_when_allowed() {
    let missing = Path::new("/nonexistent/intake.toml");
    assert!(Questionnaire::load(missing, true).is_ok());
    let err = Questionnaire::load(missing, false).unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/intake.toml: "), "{err}");
}

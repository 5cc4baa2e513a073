//! Applying the triage rules to an intake's answers.

use serde::{Deserialize, Serialize};

use super::{Text, TriageRules};
use crate::triage::answers::Answers;
use crate::triage::priority::Priority;

/// The outcome of triage for one intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triage {
    /// The most urgent priority among the matching rules, or the default.
    pub priority: Priority,
    /// Why: the reasons of the matching rules at that priority, in file order, without
    /// repeats; the default reason when no rule matches.
    pub reasons: Vec<Text>,
    /// Directory service codes needed, in file order, without repeats.
    pub services: Vec<String>,
    /// The safety lines for the operator, in file order.
    pub safety: Vec<Text>,
    /// Ids of every matching rule (at any priority), in file order.
    pub matched: Vec<String>,
}

impl Triage {
    /// The priority and its reasons in Italian, e.g. "P1: minore a rischio, pericolo
    /// immediato".
    pub fn summary_it(&self) -> String {
        self.summary(|t| &t.it)
    }

    /// The priority and its reasons in English, e.g. "P1: minor at risk, immediate
    /// danger".
    pub fn summary_en(&self) -> String {
        self.summary(|t| &t.en)
    }

    fn summary(&self, language: impl Fn(&Text) -> &String) -> String {
        let reasons: Vec<&str> = self.reasons.iter().map(|t| language(t).as_str()).collect();
        if reasons.is_empty() {
            self.priority.to_string()
        } else {
            format!("{}: {}", self.priority, reasons.join(", "))
        }
    }
}

impl TriageRules {
    /// Triage of `answers`: priority and reasons, services, safety script.
    pub fn evaluate(&self, answers: &Answers) -> Triage {
        let matching: Vec<_> = self
            .rules
            .iter()
            .filter(|r| r.when.holds(answers))
            .collect();
        let priority = matching
            .iter()
            .map(|r| r.priority)
            .min()
            .unwrap_or(self.default_priority);
        let mut reasons = Vec::new();
        for rule in matching.iter().filter(|r| r.priority == priority) {
            push_new(&mut reasons, &rule.reason);
        }
        if matching.is_empty() {
            reasons.push(self.default_reason.clone());
        }
        let mut services = Vec::new();
        for mapping in self.services.iter().filter(|m| m.when.holds(answers)) {
            for code in &mapping.codes {
                push_new(&mut services, code);
            }
        }
        let safety = self
            .safety
            .iter()
            .filter(|l| l.when.as_ref().is_none_or(|c| c.holds(answers)))
            .map(|l| l.text.clone())
            .collect();
        Triage {
            priority,
            reasons,
            services,
            safety,
            matched: matching.iter().map(|r| r.id.clone()).collect(),
        }
    }
}

fn push_new<T: PartialEq + Clone>(list: &mut Vec<T>, item: &T) {
    if !list.contains(item) {
        list.push(item.clone());
    }
}

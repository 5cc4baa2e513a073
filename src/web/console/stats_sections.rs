//! The dashboard's sections after the calls: cases, mediation and referrals, as shown.
//! Codes become labels here (the questionnaire's options, the country and language
//! lists, the directory's units), in the page's language; unknown codes are shown as
//! they are rather than dropped, so the rows always add up.

use crate::calls::outcome::Outcome as CallOutcome;
use crate::referral::directory::Directory;
use crate::referral::referrals::COORDINATOR;
use crate::stats::calls::CallFigures;
use crate::stats::cases::CaseFigures;
use crate::stats::mediation::MediationFigures;
use crate::stats::referrals::{ReferralFigures, UnitRow};
use crate::triage::countries::country;
use crate::triage::languages::language;
use crate::triage::Questionnaire;
use crate::web::i18n::Lang;

use super::stats_page::{spread_view, SpreadView, BAR_MAX};

/// A labelled count: a table row.
pub struct Row {
    /// Label in the page's language.
    pub label: String,
    /// Count.
    pub count: i64,
}

/// One bar of a chart and its table row.
pub struct LabelledBar {
    /// Label in the page's language.
    pub label: String,
    /// Count.
    pub count: i64,
    /// Top of the bar.
    pub y: u32,
    /// Length of the bar.
    pub width: String,
}

/// The case figures as shown.
pub struct CasesView {
    /// Intakes completed.
    pub intakes: i64,
    /// Pertinent: the cases.
    pub pertinent: i64,
    /// Not pertinent.
    pub not_pertinent: i64,
    /// Pranks and silent calls.
    pub prank_silent: i64,
    /// Without relevance recorded.
    pub unrecorded: i64,
    /// Exploitation types chart and table, every type of the questionnaire.
    pub exploitation: Vec<LabelledBar>,
    /// Height of that chart.
    pub chart_height: u32,
    /// By gender.
    pub genders: Vec<Row>,
    /// Minors.
    pub minors: i64,
    /// Adults.
    pub adults: i64,
    /// Age not known.
    pub age_unknown: i64,
    /// Top nationalities, then others and not recorded.
    pub nationalities: Vec<Row>,
    /// By territory.
    pub territories: Vec<Row>,
    /// Who called: chart and table, every caller type of the questionnaire.
    pub caller_types: Vec<LabelledBar>,
    /// Height of that chart.
    pub caller_chart_height: u32,
    /// Why they called.
    pub reasons: Vec<Row>,
}

/// What came of the calls and of the cases.
pub struct OutcomesView {
    /// Calls by the outcome the operator closed them with, every outcome, then those
    /// not closed.
    pub closings: Vec<Row>,
    /// Cases referred to a unit.
    pub referred: i64,
    /// Not referred: the person did not agree.
    pub consent_refused: i64,
    /// Not referred otherwise.
    pub not_referred: i64,
    /// How contact resumes.
    pub callbacks: Vec<Row>,
}

/// One language's mediation row.
pub struct LanguageView {
    /// Language name.
    pub label: String,
    /// Requests.
    pub requests: i64,
    /// Fulfilled.
    pub fulfilled: i64,
}

/// The mediation figures as shown.
pub struct MediationView {
    /// Requests.
    pub requests: i64,
    /// Fulfilled.
    pub fulfilled: i64,
    /// Share fulfilled, as a whole percentage or a dash.
    pub share: String,
    /// By language.
    pub languages: Vec<LanguageView>,
    /// Time to a mediator.
    pub wait: SpreadView,
}

/// One unit's referral row.
pub struct UnitView {
    /// Unit name.
    pub label: String,
    /// Sent, accepted, declined, escalated.
    pub row: UnitRow,
}

/// The referral figures as shown.
pub struct ReferralsView {
    /// By unit.
    pub units: Vec<UnitView>,
    /// Totals.
    pub total: UnitRow,
    /// Time to the unit's answer.
    pub answer: SpreadView,
}

/// The label of `code` among the options of `question`, else the code itself.
fn option_label(q: &Questionnaire, question: &str, code: &str, lang: Lang) -> String {
    q.question(question)
        .and_then(|q| q.option(code))
        .map_or_else(|| code.to_string(), |o| lang.pick(&o.it, &o.en).to_string())
}

fn not_recorded(lang: Lang) -> String {
    lang.t("stats.not_recorded").to_string()
}

/// A bar chart of every option of `question`, in the questionnaire's order, then any
/// code it no longer lists, then (when there are some) the answers not recorded.
fn option_bars(
    q: &Questionnaire,
    question: &str,
    rows: &[(Option<String>, i64)],
    lang: Lang,
) -> Vec<LabelledBar> {
    let mut counts: Vec<(Option<String>, i64)> = q
        .question(question)
        .map(|x| {
            x.options
                .iter()
                .map(|o| (Some(o.code.clone()), 0))
                .collect()
        })
        .unwrap_or_default();
    for (code, n) in rows {
        match counts.iter_mut().find(|(c, _)| c == code) {
            Some((_, count)) => *count += n,
            None => counts.push((code.clone(), *n)),
        }
    }
    if let Some(i) = counts.iter().position(|(c, _)| c.is_none()) {
        let unrecorded = counts.remove(i);
        counts.push(unrecorded);
    }
    let most = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    counts
        .iter()
        .zip(0u32..)
        .map(|((code, n), i)| LabelledBar {
            label: code.as_deref().map_or_else(
                || not_recorded(lang),
                |c| option_label(q, question, c, lang),
            ),
            count: *n,
            y: 8 + i * 30,
            width: format!("{:.1}", *n as f64 / most as f64 * BAR_MAX),
        })
        .collect()
}

/// Table rows of a figure by option code of `question`.
fn coded(
    q: &Questionnaire,
    question: &str,
    rows: &[(Option<String>, i64)],
    lang: Lang,
) -> Vec<Row> {
    rows.iter()
        .map(|(code, n)| Row {
            label: code.as_deref().map_or_else(
                || not_recorded(lang),
                |c| option_label(q, question, c, lang),
            ),
            count: *n,
        })
        .collect()
}

/// The cases section.
pub fn cases_view(f: &CaseFigures, q: &Questionnaire, lang: Lang) -> CasesView {
    let types: Vec<(Option<String>, i64)> = f
        .by_exploitation
        .iter()
        .map(|(c, n)| (Some(c.clone()), *n))
        .collect();
    let exploitation = option_bars(q, "exploitation", &types, lang);
    let caller_types = option_bars(q, "caller_type", &f.by_caller_type, lang);
    let coded = |question: &str, rows: &[(Option<String>, i64)]| coded(q, question, rows, lang);
    let mut nationalities: Vec<Row> = f
        .nationalities
        .top
        .iter()
        .map(|(code, n)| Row {
            label: country(code).map_or_else(|| code.clone(), |c| lang.pick(c.it, c.en).into()),
            count: *n,
        })
        .collect();
    nationalities.push(Row {
        label: lang.t("stats.others").to_string(),
        count: f.nationalities.others,
    });
    nationalities.push(Row {
        label: not_recorded(lang),
        count: f.nationalities.unknown,
    });
    CasesView {
        intakes: f.intakes,
        pertinent: f.relevance.pertinent,
        not_pertinent: f.relevance.not_pertinent,
        prank_silent: f.relevance.prank_silent,
        unrecorded: f.relevance.unrecorded,
        chart_height: 16 + exploitation.len() as u32 * 30,
        exploitation,
        genders: coded("gender", &f.by_gender),
        minors: f.ages.minors,
        adults: f.ages.adults,
        age_unknown: f.ages.unknown,
        nationalities,
        territories: coded("territory", &f.by_territory),
        caller_chart_height: 16 + caller_types.len() as u32 * 30,
        caller_types,
        reasons: coded("reason", &f.by_reason),
    }
}

/// The outcomes section: the calls' closing outcomes (every one, also at zero) and what
/// came of the cases.
pub fn outcomes_view(
    calls: &CallFigures,
    cases: &CaseFigures,
    q: &Questionnaire,
    lang: Lang,
) -> OutcomesView {
    let mut closings: Vec<Row> = CallOutcome::ALL
        .iter()
        .map(|o| {
            let (it, en) = o.labels();
            let count = calls
                .by_closing
                .iter()
                .find(|(c, _)| c.as_deref() == Some(o.as_str()))
                .map_or(0, |(_, n)| *n);
            Row {
                label: lang.pick(it, en).to_string(),
                count,
            }
        })
        .collect();
    // Codes this version does not know (written by another) are shown as they are.
    for (code, n) in &calls.by_closing {
        match code {
            Some(c) if CallOutcome::ALL.iter().all(|o| o.as_str() != c) => closings.push(Row {
                label: c.clone(),
                count: *n,
            }),
            None => closings.push(Row {
                label: lang.t("stats.not_closed").to_string(),
                count: *n,
            }),
            _ => {}
        }
    }
    OutcomesView {
        closings,
        referred: cases.outcomes.referred,
        consent_refused: cases.outcomes.consent_refused,
        not_referred: cases.outcomes.not_referred,
        callbacks: coded(q, "callback", &cases.outcomes.by_callback, lang),
    }
}

/// The mediation section.
pub fn mediation_view(f: &MediationFigures, lang: Lang) -> MediationView {
    MediationView {
        requests: f.requests,
        fulfilled: f.fulfilled,
        share: f
            .share_fulfilled()
            .map_or_else(|| "—".to_string(), |s| format!("{:.0} %", s * 100.0)),
        languages: f
            .by_language
            .iter()
            .map(|r| LanguageView {
                label: language(&r.language)
                    .map_or_else(|| r.language.clone(), |l| lang.pick(l.it, l.en).into()),
                requests: r.requests,
                fulfilled: r.fulfilled,
            })
            .collect(),
        wait: spread_view(&f.time_to_mediator),
    }
}

/// The referrals section.
pub fn referrals_view(f: &ReferralFigures, directory: &Directory, lang: Lang) -> ReferralsView {
    ReferralsView {
        units: f
            .by_unit
            .iter()
            .map(|r| UnitView {
                label: if r.unit == COORDINATOR {
                    lang.t("stats.coordinator").to_string()
                } else {
                    directory
                        .unit(&r.unit)
                        .map_or_else(|| r.unit.clone(), |u| u.name.clone())
                },
                row: r.clone(),
            })
            .collect(),
        total: f.total(),
        answer: spread_view(&f.time_to_answer),
    }
}

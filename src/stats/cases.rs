//! Case figures for the dashboard, from the intakes completed in the period: relevance,
//! then, over the pertinent ones (the region's "cases"), exploitation types, gender,
//! minors, nationality and territory.
//!
//! An intake is dated by its opening (`created_at`): the day of the contact, which a
//! later save, an override or a subject link does not move. It is placed in the
//! territory answered, else in its call's (landline prefix). Counted by day in `rollup`.

/// How many nationalities are shown by name; the rest are summed as "others".
pub const TOP_NATIONALITIES: usize = 10;

/// Completed intakes against the relevance recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relevance {
    /// About trafficking or severe exploitation: the cases.
    pub pertinent: i64,
    /// Not about it.
    pub not_pertinent: i64,
    /// A prank or a silent call.
    pub prank_silent: i64,
    /// No relevance recorded (intakes completed before the question was required).
    pub unrecorded: i64,
}

/// Cases by age: a minor answer or an age band under 18 makes a minor (in doubt, minor
/// age is presumed, as the intake's help says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ages {
    /// Minors (or possibly minors).
    pub minors: i64,
    /// Adults.
    pub adults: i64,
    /// Neither said.
    pub unknown: i64,
}

/// Cases by nationality: the most frequent by name, the rest summed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nationalities {
    /// ISO 3166 code and cases, most frequent first (ties by code).
    pub top: Vec<(String, i64)>,
    /// Cases of every other nationality.
    pub others: i64,
    /// Cases without a nationality recorded.
    pub unknown: i64,
}

/// What came of the cases: sent to a unit or not, and how contact resumes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseOutcomes {
    /// Cases with at least one referral to a unit, whatever its answer.
    pub referred: i64,
    /// Not referred because the person did not agree.
    pub consent_refused: i64,
    /// Not referred, without a refusal recorded (information given, advice, …).
    pub not_referred: i64,
    /// Cases by how contact resumes (the `callback` answer); `None` when not recorded.
    pub by_callback: Vec<(Option<String>, i64)>,
}

/// Every case figure of one scope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseFigures {
    /// Intakes completed, pertinent or not.
    pub intakes: i64,
    /// Their relevance.
    pub relevance: Relevance,
    /// Cases by exploitation type code; a case may have several types.
    pub by_exploitation: Vec<(String, i64)>,
    /// Cases by gender code; `None` when not recorded.
    pub by_gender: Vec<(Option<String>, i64)>,
    /// Minors and adults.
    pub ages: Ages,
    /// Nationalities.
    pub nationalities: Nationalities,
    /// Cases by territory code ; `None` when not known.
    pub by_territory: Vec<(Option<String>, i64)>,
    /// Who called: cases by caller type code; `None` when not recorded.
    pub by_caller_type: Vec<(Option<String>, i64)>,
    /// Why: cases by reason code; `None` when not recorded.
    pub by_reason: Vec<(Option<String>, i64)>,
    /// What came of them.
    pub outcomes: CaseOutcomes,
}

/// The [`TOP_NATIONALITIES`] most frequent nationalities and the rest; `unknown` (the
/// questionnaire's "not known") counts as not recorded.
pub(crate) fn top_ten(rows: Vec<(Option<String>, i64)>) -> Nationalities {
    let mut out = Nationalities::default();
    let mut known = Vec::with_capacity(rows.len());
    for (code, n) in rows {
        match code {
            Some(c) if c != crate::triage::questionnaire::UNKNOWN => known.push((c, n)),
            _ => out.unknown += n,
        }
    }
    known.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));
    out.others = known.iter().skip(TOP_NATIONALITIES).map(|(_, n)| n).sum();
    known.truncate(TOP_NATIONALITIES);
    out.top = known;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nationalities_past_the_tenth_are_summed_as_others() {
        let codes = [
            "NG", "RO", "AL", "BR", "MA", "CN", "UA", "BG", "IN", "PK", "SN", "BD",
        ];
        let rows: Vec<(Option<String>, i64)> = codes
            .iter()
            .zip((1..=12).rev())
            .map(|(c, n)| (Some(c.to_string()), n))
            .chain([(None, 4), (Some("unknown".into()), 1)])
            .collect();
        let n = top_ten(rows);
        assert_eq!(n.top.len(), 10);
        assert_eq!(n.top.first(), Some(&("NG".to_string(), 12)));
        assert_eq!(n.top.last(), Some(&("PK".to_string(), 3)));
        assert_eq!(n.others, 2 + 1);
        assert_eq!(n.unknown, 5);
    }
}

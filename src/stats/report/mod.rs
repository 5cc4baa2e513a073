//! The periodic report and the exports: the figures of one scope laid out as tables (the
//! same [`Dashboard`] the page shows, so the four always agree), with small numbers
//! hidden when the tables leave the organisation, and written as a printable HTML page,
//! CSV (aggregates, or one row per anonymous case) or JSON per subject. Both the console
//! (`/stats/report`, `/stats/export.*`) and `helpline report` come through here.

pub mod cli;
pub mod csv;
pub mod html;
pub mod json;
pub mod records;
pub mod suppress;
mod tables;

use chrono::{DateTime, Utc};

use super::{Dashboard, PeriodError, Scope};
use crate::db::DbError;
use crate::referral::directory::Directory;
use crate::triage::{Questionnaire, Text};
use crate::web::i18n::Lang;

/// What one subject of the figures is about; one JSON export each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Subject {
    /// Calls: outcomes, first-time and repeat callers, times.
    Calls,
    /// Cases: relevance, exploitation, the person, who called and why, outcomes.
    Cases,
    /// Requests for a linguistic-cultural mediator.
    Mediation,
    /// Referrals to the units.
    Referrals,
}

impl Subject {
    /// Every subject, in the report's order.
    pub const ALL: [Subject; 4] = [
        Subject::Calls,
        Subject::Cases,
        Subject::Mediation,
        Subject::Referrals,
    ];

    /// The code used in URLs, table ids and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Subject::Calls => "calls",
            Subject::Cases => "cases",
            Subject::Mediation => "mediation",
            Subject::Referrals => "referrals",
        }
    }

    /// Parses a code of [`Subject::code`].
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The Italian word in file names (the files go to Italian offices).
    pub fn file_word(self) -> &'static str {
        match self {
            Subject::Calls => "chiamate",
            Subject::Cases => "casi",
            Subject::Mediation => "mediazione",
            Subject::Referrals => "invii",
        }
    }
}

/// A cell's content.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A count of calls, cases, requests or referrals.
    Count(i64),
    /// A duration in seconds (a median or a percentile); none over an empty set.
    Seconds(Option<f64>),
}

/// Whether a cell is shown, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Shown.
    No,
    /// Under the threshold (zero included).
    Small,
    /// Not small, hidden so that a small one cannot be worked out by subtraction.
    Complementary,
    /// Small, but printed like a complementary cell: its bound alone would give it away.
    Masked,
}

/// One cell of a table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// What it holds (also when hidden: the writers must not print it then).
    pub value: Value,
    /// Whether it is hidden.
    pub hidden: Hidden,
}

impl Cell {
    fn count(n: i64) -> Self {
        Self {
            value: Value::Count(n),
            hidden: Hidden::No,
        }
    }

    fn seconds(s: Option<f64>) -> Self {
        Self {
            value: Value::Seconds(s),
            hidden: Hidden::No,
        }
    }

    /// The count, when the cell holds one and shows it.
    pub fn shown_count(&self) -> Option<i64> {
        match (self.value, self.hidden) {
            (Value::Count(n), Hidden::No) => Some(n),
            _ => None,
        }
    }

    /// Whether the cell is hidden.
    pub fn is_hidden(&self) -> bool {
        self.hidden != Hidden::No
    }
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Key in CSV sections and JSON rows, e.g. `sent`.
    pub key: &'static str,
    /// Heading.
    pub title: Text,
}

/// A row of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// An option code, a country, language or unit code, or a pseudo-code starting with
    /// `_` (`_not_recorded`, `_others`, `_total`).
    pub key: String,
    /// Label.
    pub label: Text,
    /// One cell per column.
    pub cells: Vec<Cell>,
    /// The name of the total this row equals in other tables (the pertinent intakes
    /// are the cases every case table adds up to), so that it is hidden with it.
    pub shared: Option<&'static str>,
}

/// A table: rows of labelled cells, and the total row they add up to when they do.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// `subject.name`, e.g. `cases.gender`.
    pub id: &'static str,
    /// What it is about.
    pub subject: Subject,
    /// Title.
    pub title: Text,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows.
    pub rows: Vec<Row>,
    /// The rows added up, column by column; none when they do not add up (a case may
    /// have several types of exploitation).
    pub total: Option<Row>,
}

impl Table {
    /// The name after the subject, e.g. `gender`.
    pub fn name(&self) -> &'static str {
        self.id.split_once('.').map_or(self.id, |(_, n)| n)
    }

    /// The row with `key`, total included.
    pub fn row(&self, key: &str) -> Option<&Row> {
        self.rows
            .iter()
            .chain(self.total.iter())
            .find(|r| r.key == key)
    }
}

/// The figures of one scope as tables, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What they are about.
    pub scope: Scope,
    /// When they were computed.
    pub generated_at: DateTime<Utc>,
    /// The threshold under which counts are hidden, when they are.
    pub threshold: Option<u32>,
    /// Every table, by subject in [`Subject::ALL`] order.
    pub tables: Vec<Table>,
}

impl Report {
    /// Lays out `figures` with labels from the questionnaire and the directory, hiding
    /// counts under `threshold` when given (see [`suppress`]).
    pub fn build(
        figures: &Dashboard,
        labels: &Labels<'_>,
        threshold: Option<u32>,
        generated_at: DateTime<Utc>,
    ) -> Self {
        let mut tables = tables::all(figures, labels);
        if let Some(t) = threshold {
            suppress::apply(&mut tables, i64::from(t));
        }
        Self {
            scope: figures.scope.clone(),
            generated_at,
            threshold,
            tables,
        }
    }

    /// The table `id`.
    pub fn table(&self, id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.id == id)
    }

    /// The tables of `subject`.
    pub fn tables_of(&self, subject: Subject) -> impl Iterator<Item = &Table> {
        self.tables.iter().filter(move |t| t.subject == subject)
    }

    /// Whether any cell of `subject`'s tables is hidden.
    pub fn hides_any(&self, subject: Subject) -> bool {
        self.tables_of(subject).any(|t| {
            t.rows
                .iter()
                .chain(t.total.iter())
                .flat_map(|r| r.cells.iter())
                .any(Cell::is_hidden)
        })
    }

    /// How a cell is written in CSV and HTML: the number, `<3` when small, `*` when
    /// hidden to protect a small one, a duration, or a dash for none.
    pub fn show(&self, cell: &Cell) -> String {
        match (cell.hidden, cell.value) {
            (Hidden::Small, _) => format!("<{}", self.threshold.unwrap_or(0)),
            (Hidden::Complementary | Hidden::Masked, _) => "*".to_string(),
            (Hidden::No, Value::Count(n)) => n.to_string(),
            (Hidden::No, Value::Seconds(s)) => s.map_or_else(|| "—".to_string(), duration),
        }
    }
}

/// A file name without its extension: `helpline-casi-2026-01-01-2026-02-01`, the
/// territory before the dates when there is one.
pub fn file_stem(scope: &Scope, word: &str) -> String {
    let p = &scope.period;
    match &scope.territory {
        Some(t) => format!("helpline-{word}-{t}-{}-{}", p.from, p.to),
        None => format!("helpline-{word}-{}-{}", p.from, p.to),
    }
}

/// Why a period was refused, for the console, in its language.
pub fn period_message(e: &PeriodError, lang: Lang) -> String {
    match e {
        PeriodError::NotADate { field } => {
            let which = match *field {
                "from" => lang.pick("«Dal»", "“From”"),
                _ => lang.pick("«Al»", "“To”"),
            };
            format!(
                "{which} {}",
                lang.pick(
                    "non è una data valida: usa il formato AAAA-MM-GG.",
                    "is not a valid date: use the YYYY-MM-DD format."
                )
            )
        }
        PeriodError::Reversed => lang
            .pick(
                "La data di inizio è dopo la data di fine.",
                "The start date is after the end date.",
            )
            .to_string(),
        PeriodError::NoMidnight(d) => format!("{d}: {e}"),
    }
}

/// Whole seconds, with minutes past the first one: `45 s`, `5 min 12 s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.round() as i64;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// Where the labels of codes come from.
pub struct Labels<'a> {
    /// The options of the questions.
    pub questionnaire: &'a Questionnaire,
    /// The units.
    pub directory: &'a Directory,
}

/// Why a report or an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The period is not one.
    #[error(transparent)]
    Period(#[from] PeriodError),
    /// The territory is not in the directory.
    #[error("unknown territory `{0}`; expected one of the directory's codes, e.g. FI")]
    UnknownTerritory(String),
    /// Small-number protection asked for a table of single cases.
    #[error(
        "the list of cases cannot be protected by hiding small numbers (every row is one \
         person): it is for internal use only; export it without suppression, or export \
         the aggregates"
    )]
    CasesNotProtectable,
    /// A threshold out of range.
    #[error("the suppression threshold must be from {min} to {max}", min = suppress::MIN_THRESHOLD, max = suppress::MAX_THRESHOLD)]
    Threshold,
    /// A command-line option is missing or does not fit the others.
    #[error("{0}")]
    Usage(String),
    /// CSV could not be written.
    #[error("CSV: {0}")]
    Csv(#[from] ::csv::Error),
    /// JSON could not be written.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The HTML page could not be rendered.
    #[error("report page: {0}")]
    Render(#[from] askama::Error),
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ReportError {
    /// The message for the console, in its language (storage errors are handled apart).
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ReportError::Period(e) => period_message(e, lang),
            ReportError::UnknownTerritory(_) => lang
                .pick(
                    "Territorio sconosciuto: scegline uno dall'elenco.",
                    "Unknown territory: choose one from the list.",
                )
                .to_string(),
            ReportError::CasesNotProtectable => lang
                .pick(
                    "L'elenco dei casi non si può proteggere nascondendo i numeri piccoli: ogni riga è una persona. \
                     È solo per uso interno: scaricalo senza protezione, oppure scarica gli aggregati.",
                    "The list of cases cannot be protected by hiding small numbers: every row is one person. \
                     It is for internal use only: download it without protection, or download the aggregates.",
                )
                .to_string(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_show_minutes_past_the_first() {
        assert_eq!(duration(45.0), "45 s");
        assert_eq!(duration(312.4), "5 min 12 s");
    }

    #[test]
    fn subjects_are_parsed_from_their_codes() {
        for s in Subject::ALL {
            assert_eq!(Subject::parse(s.code()), Some(s));
        }
        assert_eq!(Subject::parse("people"), None);
    }
}

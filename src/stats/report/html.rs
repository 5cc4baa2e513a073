//! The periodic report as one printable HTML page, laid out like the region's report:
//! a summary line ("Numero verde regionale — Casi: N; Tipologia di sfruttamento: …"),
//! then every table. The page stands alone (its style inside, no script, no link
//! outside), so the same text is served by the console and written by `helpline
//! report --format html`, and the browser's print turns it into a PDF.

use askama::Template;

use super::tables::{NOT_RECORDED, OTHERS};
use super::{Cell, Hidden, Report, Row, Subject, Table, Value};
use crate::web::i18n::Lang;

/// A table as printed.
pub struct TableView {
    /// HTML id: the table's id with dashes (`cases-gender`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<RowView>,
    /// The total row, if any.
    pub total: Option<RowView>,
}

/// A row as printed.
pub struct RowView {
    /// Label.
    pub label: String,
    /// Cells, formatted.
    pub cells: Vec<String>,
}

/// One subject's part of the report.
pub struct SectionView {
    /// Heading.
    pub title: String,
    /// Its tables.
    pub tables: Vec<TableView>,
}

#[derive(Template)]
#[template(path = "stats_report.html")]
struct ReportPage<'a> {
    lang: Lang,
    title: String,
    period: String,
    territory: String,
    generated: String,
    headline: String,
    share: String,
    sections: Vec<SectionView>,
    threshold: Option<u32>,
    hides_any: bool,
    /// The console's link back to the dashboard; none in a file.
    back: Option<&'a str>,
}

/// Renders `report` in `lang`; `territory_name` is the territory's name, `back` the
/// link back to the dashboard when served by the console.
pub fn render(
    report: &Report,
    lang: Lang,
    territory_name: Option<&str>,
    back: Option<&str>,
) -> Result<String, askama::Error> {
    let p = &report.scope.period;
    let last = p.to.pred_opt().unwrap_or(p.to).max(p.from);
    let date = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
    let sections = Subject::ALL
        .iter()
        .map(|s| SectionView {
            title: lang
                .t(match s {
                    Subject::Calls => "stats.calls",
                    Subject::Cases => "stats.cases",
                    Subject::Mediation => "stats.mediation",
                    Subject::Referrals => "stats.referrals",
                })
                .to_string(),
            tables: report
                .tables_of(*s)
                .map(|t| table_view(report, t, lang))
                .collect(),
        })
        .collect();
    ReportPage {
        lang,
        title: lang
            .pick("Rapporto periodico", "Periodic report")
            .to_string(),
        period: if p.from == p.to {
            lang.pick("periodo vuoto", "empty period").to_string()
        } else {
            format!("{} – {}", date(p.from), date(last))
        },
        territory: territory_name
            .map(str::to_string)
            .unwrap_or_else(|| lang.t("stats.all_territories").to_string()),
        generated: report
            .generated_at
            .with_timezone(&crate::stats::ZONE)
            .format("%d/%m/%Y %H:%M")
            .to_string(),
        headline: headline(report, lang),
        share: share(report),
        sections,
        threshold: report.threshold,
        hides_any: Subject::ALL.iter().any(|s| report.hides_any(*s)),
        back,
    }
    .render()
}

fn row_view(report: &Report, r: &Row, lang: Lang) -> RowView {
    RowView {
        label: lang.pick(&r.label.it, &r.label.en).to_string(),
        cells: r.cells.iter().map(|c| report.show(c)).collect(),
    }
}

fn table_view(report: &Report, t: &Table, lang: Lang) -> TableView {
    TableView {
        id: t.id.replace(['.', '_'], "-"),
        title: lang.pick(&t.title.it, &t.title.en).to_string(),
        columns: t
            .columns
            .iter()
            .map(|c| lang.pick(&c.title.it, &c.title.en).to_string())
            .collect(),
        rows: t.rows.iter().map(|r| row_view(report, r, lang)).collect(),
        total: t.total.as_ref().map(|r| row_view(report, r, lang)),
    }
}

/// The share of mediation requests fulfilled, unless either count is hidden.
fn share(report: &Report) -> String {
    let Some(total) = report
        .table("mediation.language")
        .and_then(|t| t.total.as_ref())
    else {
        return "—".into();
    };
    match (
        total.cells.first().and_then(Cell::shown_count),
        total.cells.get(1).and_then(Cell::shown_count),
    ) {
        (Some(requests), Some(fulfilled)) if requests > 0 => {
            format!("{:.0} %", fulfilled as f64 / requests as f64 * 100.0)
        }
        (Some(_), Some(_)) => "—".into(),
        _ => "*".into(),
    }
}

/// `label n, label n` over the rows of `id` that have something to say: a count above
/// zero, or a hidden one (under suppression zeros are hidden too, so leaving them out
/// would give them away). The rows of the unrecorded and of the others come last.
fn list(report: &Report, id: &str, lang: Lang) -> String {
    let Some(t) = report.table(id) else {
        return String::new();
    };
    let items: Vec<String> = t
        .rows
        .iter()
        .filter(|r| r.key != NOT_RECORDED && r.key != OTHERS)
        .chain(
            t.rows
                .iter()
                .filter(|r| r.key == OTHERS || r.key == NOT_RECORDED),
        )
        .filter_map(|r| {
            let cell = r.cells.first()?;
            let worth = cell.hidden != Hidden::No || cell.value != Value::Count(0);
            worth.then(|| {
                format!(
                    "{} {}",
                    lang.pick(&r.label.it, &r.label.en),
                    report.show(cell)
                )
            })
        })
        .collect();
    if items.is_empty() {
        "—".into()
    } else {
        items.join(", ")
    }
}

/// The count of row `key` of table `id`, as shown.
fn figure(report: &Report, id: &str, key: &str, col: usize) -> String {
    report
        .table(id)
        .and_then(|t| t.row(key))
        .and_then(|r| r.cells.get(col))
        .map_or_else(|| "—".into(), |c| report.show(c))
}

/// The summary line, as the region's report has it.
fn headline(report: &Report, lang: Lang) -> String {
    let mediation = format!(
        "{} {}, {} {} ({})",
        figure(report, "mediation.language", "_total", 0),
        lang.pick("richieste", "requests"),
        figure(report, "mediation.language", "_total", 1),
        lang.pick("soddisfatte", "fulfilled"),
        list(report, "mediation.language", lang),
    );
    format!(
        "{} — {}: {}; {}: {}; {}: {}; {}: {}; {}: {}; {}: {}.",
        lang.pick("Numero verde regionale", "Regional helpline"),
        lang.pick("Casi", "Cases"),
        figure(report, "cases.relevance", "pertinent", 0),
        lang.pick("Tipologia di sfruttamento", "Type of exploitation"),
        list(report, "cases.exploitation", lang),
        lang.pick("Genere", "Gender"),
        list(report, "cases.gender", lang),
        lang.pick("Minori", "Minors"),
        figure(report, "cases.age", "minor", 0),
        lang.pick("Nazionalità", "Nationality"),
        list(report, "cases.nationality", lang),
        lang.pick(
            "Mediazione linguistico culturale",
            "Linguistic-cultural mediation"
        ),
        mediation,
    )
}

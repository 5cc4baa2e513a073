//! CSV as RFC 4180 has it: UTF-8, CRLF after every record, fields quoted when they hold
//! a comma, a quote, CR or LF (quotes doubled), a header record first.

use csv::{Terminator, WriterBuilder};

use super::records::CaseRecord;
use super::{Report, ReportError, Value};
use crate::web::i18n::Lang;

/// The per-case file's columns.
pub const CASE_COLUMNS: [&str; 13] = [
    "n",
    "date",
    "territory",
    "relevance",
    "caller_type",
    "reason",
    "exploitation",
    "gender",
    "age_class",
    "nationality",
    "mediation_languages",
    "referred",
    "priority",
];

fn writer() -> csv::Writer<Vec<u8>> {
    WriterBuilder::new()
        .terminator(Terminator::CRLF)
        .from_writer(Vec::new())
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ReportError> {
    w.into_inner()
        .map_err(|e| ReportError::Csv(csv::Error::from(e.into_error())))
}

/// Every count of `report` as `section,key,label,count` records, the label in `lang`.
/// A section is the table's id, with the column's key after it when the table has
/// several (`referrals.unit.sent`). Durations are left out (they are in the JSON and
/// the report); hidden counts are `<3` or `*`.
pub fn aggregates(report: &Report, lang: Lang) -> Result<Vec<u8>, ReportError> {
    let mut w = writer();
    w.write_record(["section", "key", "label", "count"])?;
    for table in &report.tables {
        for (col, column) in table.columns.iter().enumerate() {
            let section = if table.columns.len() > 1 {
                format!("{}.{}", table.id, column.key)
            } else {
                table.id.to_string()
            };
            for row in table.rows.iter().chain(table.total.iter()) {
                let Some(cell) = row.cells.get(col) else {
                    continue;
                };
                if !matches!(cell.value, Value::Count(_)) {
                    continue;
                }
                let label = lang.pick(&row.label.it, &row.label.en);
                w.write_record([
                    section.as_str(),
                    row.key.as_str(),
                    label,
                    report.show(cell).as_str(),
                ])?;
            }
        }
    }
    finish(w)
}

/// One record per case, numbered from 1 in the order they were opened (a number of this
/// file only: it leads back to no record). Several codes are joined with `;`.
pub fn cases(records: &[CaseRecord]) -> Result<Vec<u8>, ReportError> {
    let mut w = writer();
    w.write_record(CASE_COLUMNS)?;
    for (n, r) in records.iter().enumerate() {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        w.write_record([
            (n + 1).to_string(),
            r.date.to_string(),
            text(&r.territory),
            text(&r.relevance),
            text(&r.caller_type),
            text(&r.reason),
            r.exploitation.join(";"),
            text(&r.gender),
            r.age_class.to_string(),
            text(&r.nationality),
            r.mediation_languages.join(";"),
            if r.referred { "yes" } else { "no" }.to_string(),
            text(&r.priority),
        ])?;
    }
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_quotes_and_line_breaks_are_quoted_and_records_end_in_crlf() {
        let mut w = writer();
        w.write_record([
            "a",
            "Cliente, amica/o, collega",
            "detto \"Tom\"",
            "due\nrighe",
        ])
        .unwrap();
        w.write_record(["b", "", "x", "y"]).unwrap();
        let out = String::from_utf8(finish(w).unwrap()).unwrap();
        assert_eq!(
            out,
            "a,\"Cliente, amica/o, collega\",\"detto \"\"Tom\"\"\",\"due\nrighe\"\r\nb,,x,y\r\n"
        );
    }
}

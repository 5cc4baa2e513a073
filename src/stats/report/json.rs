//! The JSON export of one subject, for feeding the national database. Its shape is
//! documented by a JSON Schema per subject in `docs/schemas/` (named by `schema`), and
//! described in `docs/exports.md`. A hidden cell is `{"value": null, "suppressed":
//! true}`; `suppressed` at the top says whether any is.

use serde_json::{json, Map, Value as Json};

use super::{Cell, Report, Row, Subject, Table, Value};
use crate::triage::Text;

/// The version of the shape; a change that breaks readers makes a new one.
pub const VERSION: u32 = 1;

/// The schema's identifier for `subject` (also the `$id` of its schema file).
pub fn schema_id(subject: Subject) -> String {
    format!("urn:helpline:stats:{}:{VERSION}", subject.code())
}

fn label(t: &Text) -> Json {
    json!({ "it": t.it, "en": t.en })
}

fn cell(c: &Cell) -> Json {
    if c.is_hidden() {
        return json!({ "value": null, "suppressed": true });
    }
    match c.value {
        Value::Count(n) => json!({ "value": n, "suppressed": false }),
        Value::Seconds(s) => json!({ "value": s, "suppressed": false }),
    }
}

fn row(table: &Table, r: &Row) -> Json {
    let mut out = Map::new();
    out.insert("key".into(), json!(r.key));
    out.insert("label".into(), label(&r.label));
    for (column, c) in table.columns.iter().zip(&r.cells) {
        out.insert(column.key.into(), cell(c));
    }
    Json::Object(out)
}

fn table(t: &Table) -> Json {
    json!({
        "title": label(&t.title),
        "columns": t.columns.iter().map(|c| json!({ "key": c.key, "title": label(&c.title) })).collect::<Vec<_>>(),
        "rows": t.rows.iter().map(|r| row(t, r)).collect::<Vec<_>>(),
        "total": t.total.as_ref().map(|r| row(t, r)),
    })
}

/// The export of `subject`.
pub fn export(report: &Report, subject: Subject) -> Json {
    let tables: Map<String, Json> = report
        .tables_of(subject)
        .map(|t| (t.name().to_string(), table(t)))
        .collect();
    json!({
        "schema": schema_id(subject),
        "subject": subject.code(),
        "period": {
            "from": report.scope.period.from.to_string(),
            "to": report.scope.period.to.to_string(),
        },
        "territory": report.scope.territory,
        "generated_at": report.generated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "threshold": report.threshold,
        "suppressed": report.hides_any(subject),
        "tables": tables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema files name the same tables and top-level keys the export writes.
    #[test]
    fn every_subject_matches_its_schema_file() {
        use crate::stats::calls::CallFigures;
        use crate::stats::{Dashboard, Period, Scope};
        let questionnaire = crate::triage::Questionnaire::parse(
            crate::triage::questionnaire::EMBEDDED_INTAKE,
            "intake",
        )
        .unwrap();
        let directory =
            crate::referral::Directory::load(std::path::Path::new("config/directory.toml"), true)
                .unwrap();
        let figures = Dashboard {
            scope: Scope {
                period: Period::parse("2024-03-25", "2024-04-01").unwrap(),
                territory: None,
            },
            calls: CallFigures::default(),
            cases: Default::default(),
            mediation: Default::default(),
            referrals: Default::default(),
            pending_days: 0,
        };
        let labels = super::super::Labels {
            questionnaire: &questionnaire,
            directory: &directory,
        };
        let report = Report::build(&figures, &labels, Some(3), chrono::Utc::now());
        for subject in Subject::ALL {
            let path = format!(
                "{}/docs/schemas/{}.schema.json",
                env!("CARGO_MANIFEST_DIR"),
                subject.code()
            );
            let schema: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            let out = export(&report, subject);
            assert_eq!(schema["$id"], json!(schema_id(subject)), "{path}");
            let required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let mut keys: Vec<&str> = out
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort();
            let mut wanted = required.clone();
            wanted.sort();
            assert_eq!(keys, wanted, "{path}: top-level keys");
            let tables = &schema["properties"]["tables"];
            let mut named: Vec<&str> = tables["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            named.sort();
            let mut written: Vec<&str> = out["tables"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            written.sort();
            assert_eq!(written, named, "{path}: tables");
            for (name, t) in out["tables"].as_object().unwrap() {
                let columns: Vec<&str> = t["columns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["key"].as_str().unwrap())
                    .collect();
                let def = &tables["properties"][name]["$ref"];
                let def = def.as_str().unwrap().trim_start_matches("#/$defs/");
                let listed: Vec<&str> = schema["$defs"][def]["properties"]["columns"]
                    ["prefixItems"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{path}: {def} columns"))
                    .iter()
                    .map(|c| c["properties"]["key"]["const"].as_str().unwrap())
                    .collect();
                assert_eq!(columns, listed, "{path}: columns of {name}");
            }
        }
    }
}

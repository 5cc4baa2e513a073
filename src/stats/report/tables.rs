//! The dashboard's figures as tables with labels in both languages. Rows of a question
//! list every option of the questionnaire (zeros included), then codes it no longer
//! lists, then the unrecorded, so a table has the same rows from one period to the
//! next and the rows always add up to the total.

use super::{Cell, Column, Labels, Row, Subject, Table};
use crate::referral::referrals::COORDINATOR;
use crate::stats::calls::{Outcome, Spread};
use crate::stats::Dashboard;
use crate::triage::countries::country;
use crate::triage::languages::language;
use crate::triage::Text;
use crate::web::i18n::Lang;

/// The key of the row of answers not recorded.
pub const NOT_RECORDED: &str = "_not_recorded";
/// The key of the row of the other nationalities.
pub const OTHERS: &str = "_others";
/// The key of the total row.
pub const TOTAL: &str = "_total";
/// The name of the total that every case table adds up to.
const PERTINENT: &str = "cases.pertinent";

/// A console text in both languages.
fn text(key: &str) -> Text {
    Text::new(Lang::It.t(key), Lang::En.t(key))
}

fn column(key: &'static str, title: Text) -> Column {
    Column { key, title }
}

fn row(key: &str, label: Text, counts: &[i64]) -> Row {
    Row {
        key: key.to_string(),
        label,
        cells: counts.iter().map(|n| Cell::count(*n)).collect(),
        shared: None,
    }
}

fn total(counts: &[i64]) -> Row {
    row(TOTAL, text("stats.total_row"), counts)
}

fn table(id: &'static str, subject: Subject, title: Text, columns: Vec<Column>) -> Table {
    Table {
        id,
        subject,
        title,
        columns,
        rows: Vec::new(),
        total: None,
    }
}

/// Every table of `f`, in the report's order.
pub fn all(f: &Dashboard, labels: &Labels<'_>) -> Vec<Table> {
    let mut out = calls(f);
    out.extend(cases(f, labels));
    out.extend(mediation(f));
    out.extend(referrals(f, labels));
    out
}

fn times_table(
    id: &'static str,
    subject: Subject,
    title: Text,
    rows: &[(&str, Text, &Spread)],
) -> Table {
    let mut t = table(
        id,
        subject,
        title,
        vec![
            column("measured", text("stats.measured_count")),
            column("median_seconds", text("stats.median")),
            column("p90_seconds", text("stats.p90")),
        ],
    );
    t.rows = rows
        .iter()
        .map(|(key, label, s)| Row {
            key: key.to_string(),
            label: label.clone(),
            cells: vec![
                Cell::count(s.count),
                Cell::seconds(s.median),
                Cell::seconds(s.p90),
            ],
            shared: None,
        })
        .collect();
    t
}

fn calls(f: &Dashboard) -> Vec<Table> {
    let c = &f.calls;
    let calls_column = || vec![column("calls", text("stats.calls"))];
    let mut outcome = table(
        "calls.outcome",
        Subject::Calls,
        text("stats.by_outcome"),
        calls_column(),
    );
    outcome.rows = Outcome::ALL
        .iter()
        .map(|o| {
            let n = c
                .by_outcome
                .iter()
                .filter(|(x, _)| x == o)
                .map(|(_, n)| n)
                .sum::<i64>();
            let key = o.label_key().trim_start_matches("stats.outcome.");
            row(key, text(o.label_key()), &[n])
        })
        .collect();
    outcome.total = Some(total(&[c.total]));

    let mut callers = table(
        "calls.callers",
        Subject::Calls,
        Text::new(
            "Chi chiama: prima volta o di nuovo",
            "First-time and repeat callers",
        ),
        calls_column(),
    );
    callers.rows = vec![
        row("first_time", text("stats.first_time"), &[c.first_time]),
        row("repeat", text("stats.repeat"), &[c.repeat]),
        row("withheld", text("stats.withheld"), &[c.withheld]),
    ];
    callers.total = Some(total(&[c.total]));

    let mut overflow = table(
        "calls.overflow",
        Subject::Calls,
        text("stats.through_overflow"),
        calls_column(),
    );
    overflow.rows = vec![row(
        "through_overflow",
        text("stats.through_overflow"),
        &[c.through_overflow],
    )];

    let times = times_table(
        "calls.times",
        Subject::Calls,
        text("stats.times"),
        &[
            ("wait", text("stats.wait"), &c.wait),
            ("talk", text("stats.talk"), &c.talk),
        ],
    );
    vec![outcome, callers, overflow, times]
}

/// The label of `code` among the options of `question`, else the code itself.
fn option_label(labels: &Labels<'_>, question: &str, code: &str) -> Text {
    labels
        .questionnaire
        .question(question)
        .and_then(|q| q.option(code))
        .map_or_else(
            || Text::new(code, code),
            |o| Text::new(o.it.clone(), o.en.clone()),
        )
}

/// Rows for a single-choice `question`: every option (less `skip`), then the codes the
/// questionnaire does not list, then the unrecorded.
fn coded_rows(
    labels: &Labels<'_>,
    question: &str,
    counts: &[(Option<String>, i64)],
    skip: &[&str],
) -> Vec<Row> {
    let mut rows: Vec<Row> = labels
        .questionnaire
        .question(question)
        .map(|q| {
            q.options
                .iter()
                .filter(|o| !skip.contains(&o.code.as_str()))
                .map(|o| row(&o.code, Text::new(o.it.clone(), o.en.clone()), &[0]))
                .collect()
        })
        .unwrap_or_default();
    let mut unrecorded = 0;
    for (code, n) in counts {
        let Some(code) = code else {
            unrecorded += n;
            continue;
        };
        match rows.iter_mut().find(|r| &r.key == code) {
            Some(r) => add(r, *n),
            None => rows.push(row(code, option_label(labels, question, code), &[*n])),
        }
    }
    rows.push(row(NOT_RECORDED, text("stats.not_recorded"), &[unrecorded]));
    rows
}

fn add(r: &mut Row, n: i64) {
    if let Some(Cell {
        value: super::Value::Count(c),
        ..
    }) = r.cells.first_mut()
    {
        *c += n;
    }
}

fn cases(f: &Dashboard, labels: &Labels<'_>) -> Vec<Table> {
    let k = &f.cases;
    let cases_column = || vec![column("cases", text("stats.cases"))];
    let case_table = |id, title, rows: Vec<Row>| {
        let mut t = table(id, Subject::Cases, title, cases_column());
        t.rows = rows;
        let mut sum = total(&[k.relevance.pertinent]);
        sum.shared = Some(PERTINENT);
        t.total = Some(sum);
        t
    };

    let mut relevance = table(
        "cases.relevance",
        Subject::Cases,
        Text::new(
            "Schede completate per pertinenza",
            "Intakes completed by relevance",
        ),
        cases_column(),
    );
    let mut pertinent = row(
        "pertinent",
        text("stats.pertinent"),
        &[k.relevance.pertinent],
    );
    pertinent.shared = Some(PERTINENT);
    relevance.rows = vec![
        pertinent,
        row(
            "not_pertinent",
            text("stats.not_pertinent"),
            &[k.relevance.not_pertinent],
        ),
        row(
            "prank_silent",
            text("stats.prank_silent"),
            &[k.relevance.prank_silent],
        ),
        row(
            NOT_RECORDED,
            text("stats.relevance_unrecorded"),
            &[k.relevance.unrecorded],
        ),
    ];
    relevance.total = Some(total(&[k.intakes]));

    // A case may have several types: no total.
    let mut exploitation = table(
        "cases.exploitation",
        Subject::Cases,
        text("stats.by_exploitation"),
        cases_column(),
    );
    let typed: Vec<(Option<String>, i64)> = k
        .by_exploitation
        .iter()
        .map(|(c, n)| (Some(c.clone()), *n))
        .collect();
    exploitation.rows = coded_rows(labels, "exploitation", &typed, &[]);
    exploitation.rows.retain(|r| r.key != NOT_RECORDED);

    let ages = vec![
        row("minor", text("stats.minors"), &[k.ages.minors]),
        row("adult", text("stats.adults"), &[k.ages.adults]),
        row("unknown", text("stats.age_unknown"), &[k.ages.unknown]),
    ];

    let n = &k.nationalities;
    let mut nationalities: Vec<Row> = n
        .top
        .iter()
        .map(|(code, count)| {
            let label =
                country(code).map_or_else(|| Text::new(code, code), |c| Text::new(c.it, c.en));
            row(code, label, &[*count])
        })
        .collect();
    nationalities.push(row(OTHERS, text("stats.others"), &[n.others]));
    nationalities.push(row(NOT_RECORDED, text("stats.not_recorded"), &[n.unknown]));

    let o = &k.outcomes;
    let outcomes = vec![
        row(
            "referred",
            Text::new("Inviati a un servizio", "Referred to a unit"),
            &[o.referred],
        ),
        row(
            "consent_refused",
            Text::new(
                "Non inviati: la persona non ha acconsentito",
                "Not referred: the person did not agree",
            ),
            &[o.consent_refused],
        ),
        row(
            "not_referred",
            Text::new(
                "Non inviati (informazioni, consulenza, …)",
                "Not referred (information, advice, …)",
            ),
            &[o.not_referred],
        ),
    ];

    vec![
        relevance,
        exploitation,
        case_table(
            "cases.gender",
            text("stats.by_gender"),
            coded_rows(labels, "gender", &k.by_gender, &[]),
        ),
        case_table("cases.age", Text::new("Casi per età", "Cases by age"), ages),
        case_table(
            "cases.nationality",
            text("stats.by_nationality"),
            nationalities,
        ),
        case_table(
            "cases.territory",
            text("stats.by_territory"),
            coded_rows(labels, "territory", &k.by_territory, &["unknown"]),
        ),
        case_table(
            "cases.caller_type",
            Text::new("Chi chiama", "Who calls"),
            coded_rows(labels, "caller_type", &k.by_caller_type, &[]),
        ),
        case_table(
            "cases.reason",
            Text::new("Motivo della chiamata", "Why they call"),
            coded_rows(labels, "reason", &k.by_reason, &[]),
        ),
        case_table(
            "cases.outcome",
            Text::new("Esito dei casi", "What came of the cases"),
            outcomes,
        ),
        case_table(
            "cases.callback",
            Text::new("Come riprende il contatto", "How contact resumes"),
            coded_rows(labels, "callback", &o.by_callback, &[]),
        ),
    ]
}

fn mediation(f: &Dashboard) -> Vec<Table> {
    let m = &f.mediation;
    let mut languages = table(
        "mediation.language",
        Subject::Mediation,
        text("stats.by_language"),
        vec![
            column("requests", text("stats.requests")),
            column("fulfilled", text("stats.fulfilled")),
        ],
    );
    languages.rows = m
        .by_language
        .iter()
        .map(|r| {
            let label = language(&r.language).map_or_else(
                || Text::new(&r.language, &r.language),
                |l| Text::new(l.it, l.en),
            );
            row(&r.language, label, &[r.requests, r.fulfilled])
        })
        .collect();
    languages.total = Some(total(&[m.requests, m.fulfilled]));
    let times = times_table(
        "mediation.times",
        Subject::Mediation,
        text("stats.time_to_mediator"),
        &[(
            "time_to_mediator",
            text("stats.time_to_mediator"),
            &m.time_to_mediator,
        )],
    );
    vec![languages, times]
}

fn referrals(f: &Dashboard, labels: &Labels<'_>) -> Vec<Table> {
    let r = &f.referrals;
    let mut units = table(
        "referrals.unit",
        Subject::Referrals,
        text("stats.by_unit"),
        vec![
            column("sent", text("stats.sent")),
            column("accepted", text("stats.accepted")),
            column("declined", text("stats.declined")),
            column("escalated", text("stats.escalated")),
        ],
    );
    units.rows = r
        .by_unit
        .iter()
        .map(|u| {
            let label = if u.unit == COORDINATOR {
                text("stats.coordinator")
            } else {
                labels.directory.unit(&u.unit).map_or_else(
                    || Text::new(&u.unit, &u.unit),
                    |d| Text::new(&d.name, &d.name),
                )
            };
            row(
                &u.unit,
                label,
                &[u.sent, u.accepted, u.declined, u.escalated],
            )
        })
        .collect();
    let sum = r.total();
    units.total = Some(total(&[
        sum.sent,
        sum.accepted,
        sum.declined,
        sum.escalated,
    ]));
    let times = times_table(
        "referrals.times",
        Subject::Referrals,
        text("stats.time_to_answer"),
        &[(
            "time_to_answer",
            text("stats.time_to_answer"),
            &r.time_to_answer,
        )],
    );
    vec![units, times]
}

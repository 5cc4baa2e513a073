//! `helpline report`: the periodic report or an export from the command line, written
//! to standard output or a file, and recorded in the audit log like the console's.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use serde_json::json;

use super::{Labels, Report, ReportError, Subject};
use crate::config::Config;
use crate::db::audit::{self, AuditEntry};
use crate::db::Db;
use crate::referral::directory::DirectoryHandle;
use crate::referral::Directory;
use crate::stats::{dashboard, Period, Scope};
use crate::web::i18n::Lang;

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CSV (RFC 4180): the aggregates, or one row per case (`--kind`).
    Csv,
    /// JSON of one subject (`--subject`), as documented in docs/schemas.
    Json,
    /// The printable periodic report.
    Html,
}

/// Which CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Every count as section,key,label,count rows.
    Aggregates,
    /// One row per anonymous case (internal use only: never with suppression).
    Cases,
}

/// `helpline report`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("suppression").args(["suppress_below", "no_suppression"])))]
pub struct ReportArgs {
    /// First day (YYYY-MM-DD, Rome clock).
    #[arg(long)]
    pub from: String,
    /// The day after the last one (YYYY-MM-DD, excluded), as on the statistics page.
    #[arg(long)]
    pub to: String,
    /// A territory code of the directory, e.g. FI; all when absent.
    #[arg(long)]
    pub territory: Option<String>,
    /// csv, json or html.
    #[arg(long, value_enum)]
    pub format: Format,
    /// With --format json: calls, cases, mediation or referrals.
    #[arg(long, value_enum)]
    pub subject: Option<Subject>,
    /// With --format csv: aggregates (default) or cases.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Hide counts under N (default for the aggregates and JSON: `[stats] suppress_below`).
    #[arg(long, value_name = "N")]
    pub suppress_below: Option<u32>,
    /// Hide nothing (for internal use; the default for the report and the cases).
    #[arg(long)]
    pub no_suppression: bool,
    /// Language of labels and of the report: it or en.
    #[arg(long, default_value = "it")]
    pub lang: String,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// What the arguments ask for, checked before the database is opened.
struct Plan {
    scope: Scope,
    threshold: Option<u32>,
    what: What,
    lang: Lang,
}

enum What {
    Aggregates,
    Cases,
    Json(Subject),
    Html,
}

fn plan(args: &ReportArgs, config: &Config) -> Result<Plan, ReportError> {
    let period = Period::parse(&args.from, &args.to)?;
    let lang = match args.lang.as_str() {
        "it" => Lang::It,
        "en" => Lang::En,
        other => {
            return Err(ReportError::Usage(format!(
                "unknown language `{other}`; expected it or en"
            )))
        }
    };
    let what = match args.format {
        Format::Csv => match args.kind.unwrap_or(Kind::Aggregates) {
            Kind::Aggregates => What::Aggregates,
            Kind::Cases => What::Cases,
        },
        Format::Json => What::Json(args.subject.ok_or_else(|| {
            ReportError::Usage(
                "--format json needs --subject calls, cases, mediation or referrals".into(),
            )
        })?),
        Format::Html => What::Html,
    };
    // Exports that leave the organisation are protected unless told otherwise; the
    // report and the list of cases are for internal use unless asked.
    let default = match what {
        What::Aggregates | What::Json(_) => Some(config.stats.suppress_below),
        What::Cases | What::Html => None,
    };
    let threshold = match (args.suppress_below, args.no_suppression) {
        (Some(n), _) => Some(n),
        (None, true) => None,
        (None, false) => default,
    };
    if let Some(n) = threshold {
        if !(super::suppress::MIN_THRESHOLD..=super::suppress::MAX_THRESHOLD).contains(&n) {
            return Err(ReportError::Threshold);
        }
        if matches!(what, What::Cases) {
            return Err(ReportError::CasesNotProtectable);
        }
    }
    let territory = args
        .territory
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok(Plan {
        scope: Scope { period, territory },
        threshold,
        what,
        lang,
    })
}

/// Runs `helpline report`.
pub async fn run(config: &Config, args: ReportArgs) -> Result<(), crate::Error> {
    let plan = plan(&args, config)?;
    let file = Directory::load(&config.directory.path, config.directory_is_default())?;
    let (questionnaire, _) = crate::startup::load_intake(config, &file)?;
    let db = Db::connect(&config.database, config.database_backend()?).await?;
    db.migrate().await?;
    // The units as admins last saved them, read without writing anything.
    let directory = DirectoryHandle::fixed(file);
    directory.refresh(&db).await?;
    let directory = directory.current();
    let territory_name = match &plan.scope.territory {
        Some(code) => Some(
            directory
                .territory(code)
                .map(|t| t.name.clone())
                .ok_or_else(|| ReportError::UnknownTerritory(code.clone()))?,
        ),
        None => None,
    };
    let (bytes, object) = match plan.what {
        What::Cases => {
            let records = super::records::case_records(&db, &plan.scope)
                .await
                .map_err(ReportError::from)?;
            (super::csv::cases(&records)?, "cases.csv".to_string())
        }
        _ => {
            let figures = dashboard(&db, &plan.scope, config.privacy.repeat_caller_window_days)
                .await
                .map_err(ReportError::from)?;
            let labels = Labels {
                questionnaire: &questionnaire,
                directory: &directory,
            };
            let report = Report::build(&figures, &labels, plan.threshold, Utc::now());
            match plan.what {
                What::Json(subject) => {
                    let mut out = serde_json::to_vec_pretty(&super::json::export(&report, subject))
                        .map_err(ReportError::from)?;
                    out.push(b'\n');
                    (out, format!("{}.json", subject.code()))
                }
                What::Html => (
                    super::html::render(&report, plan.lang, territory_name.as_deref(), None)
                        .map_err(ReportError::from)?
                        .into_bytes(),
                    "report.html".to_string(),
                ),
                _ => (
                    super::csv::aggregates(&report, plan.lang)?,
                    "aggregates.csv".to_string(),
                ),
            }
        }
    };
    write(&args, &bytes)?;
    let entry = AuditEntry {
        actor_user_id: None,
        actor: "cli".into(),
        action: "stats.export",
        object_kind: "stats",
        object_id: object,
        address: None,
        detail: json!({
            "from": plan.scope.period.from.to_string(),
            "to": plan.scope.period.to.to_string(),
            "territory": plan.scope.territory,
            "suppress_below": plan.threshold,
        }),
    };
    audit::append(&db, Utc::now(), &entry).await?;
    Ok(())
}

fn write(args: &ReportArgs, bytes: &[u8]) -> Result<(), ReportError> {
    match &args.output {
        Some(path) => std::fs::write(path, bytes).map_err(|source| ReportError::Output {
            path: path.display().to_string(),
            source,
        }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|source| ReportError::Output {
                    path: "standard output".into(),
                    source,
                })
        }
    }
}

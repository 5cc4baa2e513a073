//! Demo data: `helpline demo generate` fills a database with realistic synthetic calls,
//! intakes, referrals and mediation requests, for trying the product and for benchmarks.
//! Calls go through the call log like the service's own; numbers are fictitious and only
//! their keyed hashes are stored. The same seed and period give the same data.

pub mod calls;
mod followups;
pub mod intake;
pub mod random;
mod store;

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use rand::Rng;
use serde_json::json;

use crate::calls::{
    CallError, CallId, CallLog, CallState, CallerHasher, Channel, InvalidCallerNumber, NewCall,
    Transition,
};
use crate::config::Config;
use crate::db::audit::{self, AuditEntry};
use crate::db::{Db, DbError};
use crate::referral::Directory;
use crate::triage::{Questionnaire, TriageRules};
use calls::{CallPlan, Generator};
use random::item_rng;

/// More calls than this in the database and the demo refuses to run without `--force`.
pub const HANDFUL: i64 = 10;
/// Calls generated and written per round.
const CHUNK: u64 = 5_000;
/// Calls being written at once (their operations are batched by the call log).
const IN_FLIGHT: usize = 256;
const STREAM_SELECT: u64 = 5;
const STREAM_INTAKE: u64 = 6;
const STREAM_FOLLOW: u64 = 7;
const STREAM_CLOSE: u64 = 8;

/// `helpline demo generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// How many calls.
    #[arg(long)]
    pub calls: u64,
    /// How many intakes, on answered calls (default: one in five of them).
    #[arg(long)]
    pub intakes: Option<u64>,
    /// First day (YYYY-MM-DD, Rome); default: a year before --to.
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day, included (YYYY-MM-DD, Rome); default: yesterday.
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Seed: the same seed and period give the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write even into a database that already has calls.
    #[arg(long)]
    pub force: bool,
}

/// Why demo data could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The database already has calls.
    #[error(
        "the database already holds {0} calls (more than {HANDFUL}): demo data would mix with real ones and \
         falsify a live line's figures. Use an empty database, or pass --force if this one is only for trying"
    )]
    NotEmpty(i64),
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// A call could not be written.
    #[error("call record: {0}")]
    Call(#[from] CallError),
    /// A generated number was refused (a bug in the generator).
    #[error(transparent)]
    Number(#[from] InvalidCallerNumber),
    /// Generated answers were refused by the questionnaire.
    #[error("generated answers refused by the questionnaire at `{0}`")]
    Answers(String),
    /// A referral could not be written.
    #[error("referral: {0}")]
    Referral(#[from] crate::referral::referrals::AckError),
    /// A mediation request could not be written.
    #[error("mediation: {0}")]
    Mediation(#[from] crate::triage::mediation::MediationError),
    /// The demo operators could not be made.
    #[error(transparent)]
    User(#[from] crate::auth::UserError),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What was written.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Calls by current state.
    pub by_state: BTreeMap<&'static str, u64>,
    /// Intakes.
    pub intakes: u64,
    /// Referrals.
    pub referrals: u64,
    /// Mediation requests.
    pub mediations: u64,
}

/// Loads what the demo needs from the configuration, writes the data and prints a
/// summary.
pub async fn run(config: &Config, args: GenerateArgs) -> Result<(), crate::Error> {
    let to = args
        .to
        .unwrap_or_else(|| Utc::now().date_naive() - Duration::days(1));
    let from = args.from.unwrap_or(to - Duration::days(364));
    let directory = Directory::load(&config.directory.path, config.directory_is_default())?;
    let (questionnaire, triage) = crate::startup::load_intake(config, &directory)?;
    let hasher = CallerHasher::from_config(&config.privacy)?;
    let db = Db::connect(&config.database, config.database_backend()?).await?;
    db.migrate().await?;
    let ctx = Context {
        line: config.lines.first().map(|l| l.number.clone()),
        db,
        directory,
        questionnaire,
        triage,
        hasher,
    };
    let started = Instant::now();
    let summary = generate(&ctx, &args, from, to).await?;
    let total: u64 = summary.by_state.values().sum();
    println!(
        "demo data: {total} calls from {from} to {to} (seed {}) in {:.1} s",
        args.seed,
        started.elapsed().as_secs_f64()
    );
    for (state, n) in &summary.by_state {
        println!("  {state:<11} {n:>9}");
    }
    println!(
        "  intakes {}, referrals {}, mediation requests {}",
        summary.intakes, summary.referrals, summary.mediations
    );
    // Counted now rather than by the service's first minutes or first dashboard.
    let counting = Instant::now();
    let days = crate::stats::rollup::refresh_all(&ctx.db, config.privacy.repeat_caller_window_days)
        .await?;
    println!(
        "statistics counted for {days} days in {:.1} s",
        counting.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What writing needs.
pub struct Context {
    /// The database.
    pub db: Db,
    /// The directory (territories, units, mediators).
    pub directory: Directory,
    /// The intake questionnaire.
    pub questionnaire: Questionnaire,
    /// The triage rules.
    pub triage: TriageRules,
    /// The caller-number hasher.
    pub hasher: CallerHasher,
    /// The help-line number the calls came in on.
    pub line: Option<String>,
}

/// Writes the demo data.
pub async fn generate(
    ctx: &Context,
    args: &GenerateArgs,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Summary, DemoError> {
    if args.calls == 0 {
        return Err(DemoError::Usage("--calls must be at least 1".into()));
    }
    if to < from {
        return Err(DemoError::Usage(format!(
            "the period ends ({to}) before it starts ({from})"
        )));
    }
    let existing = store::count_calls(&ctx.db).await?;
    if existing > HANDFUL && !args.force {
        return Err(DemoError::NotEmpty(existing));
    }
    let now = Utc::now();
    let operators = store::operators(&ctx.db, now).await?;
    let generator = Generator::new(
        args.seed,
        args.calls,
        from,
        to,
        &ctx.directory,
        operators.len(),
    );
    // First pass, outcomes only: how many calls are answered, so that exactly the number
    // of intakes asked for can be spread over them.
    let answered = (0..args.calls).filter(|&i| generator.answered(i)).count() as u64;
    let wanted = args.intakes.unwrap_or(answered / 5).min(answered);
    let (mut left_answered, mut left_wanted) = (answered, wanted);
    let mut select = item_rng(args.seed, STREAM_SELECT, 0);
    let log = CallLog::start(&ctx.db)?;
    let mut summary = Summary::default();
    let mut last_report = Instant::now();
    let mut start = 0;
    while start < args.calls {
        let end = (start + CHUNK).min(args.calls);
        let plans: Vec<(u64, CallPlan)> = (start..end).map(|i| (i, generator.plan(i))).collect();
        let ids: Vec<CallId> = futures::stream::iter(plans.iter())
            .map(|(_, plan)| write_call(ctx, &log, &operators, plan))
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        let mut chosen = Vec::new();
        let mut without_intake = Vec::new();
        for ((index, plan), id) in plans.iter().zip(&ids) {
            let state = plan.steps.last().map_or(CallState::Offered, |s| s.state);
            *summary.by_state.entry(state.as_str()).or_default() += 1;
            if plan.answered() {
                // Selection sampling: each answered call is chosen with the odds that
                // leave exactly `wanted` chosen at the end.
                if select.gen_range(0..left_answered) < left_wanted {
                    chosen.push((*index, plan, *id));
                    left_wanted -= 1;
                } else {
                    without_intake.push((*index, plan, *id));
                }
                left_answered -= 1;
            }
        }
        for (index, plan, id) in without_intake {
            let mut rng = item_rng(args.seed, STREAM_CLOSE, index);
            let by = operators.get(plan.operator).copied().unwrap_or_default();
            let ended = plan.steps.last().map_or(0, |s| s.after_ms);
            let at = plan.opened_at + Duration::milliseconds(ended) + Duration::seconds(30);
            followups::close_without_intake(&ctx.db, &mut rng, id, by, at).await?;
        }
        let written = write_intakes(ctx, &operators, args.seed, &chosen).await?;
        summary.intakes += chosen.len() as u64;
        summary.referrals += written.referrals;
        summary.mediations += written.mediations;
        start = end;
        if last_report.elapsed().as_secs() >= 2 || start == args.calls {
            eprintln!(
                "  {start}/{} calls, {} intakes",
                args.calls, summary.intakes
            );
            last_report = Instant::now();
        }
    }
    let entry = AuditEntry {
        actor_user_id: None,
        actor: "cli".into(),
        action: "demo.generate",
        object_kind: "calls",
        object_id: String::new(),
        address: None,
        detail: json!({
            "calls": args.calls, "intakes": summary.intakes, "seed": args.seed,
            "from": from.to_string(), "to": to.to_string(), "forced": args.force && existing > HANDFUL,
        }),
    };
    audit::append(&ctx.db, Utc::now(), &entry).await?;
    Ok(summary)
}

async fn write_call(
    ctx: &Context,
    log: &CallLog,
    operators: &[i64],
    plan: &CallPlan,
) -> Result<CallId, DemoError> {
    let caller = ctx.hasher.fingerprint(
        plan.caller.as_deref().unwrap_or("anonymous"),
        &ctx.directory,
    )?;
    let operator = operators.get(plan.operator).copied();
    let manual = plan.channel == Channel::Manual;
    let new = NewCall {
        channel: plan.channel,
        line: if manual { None } else { ctx.line.clone() },
        caller,
        language: None,
        opened_by: if manual { operator } else { None },
    };
    let id = log.open(new, plan.opened_at).await?;
    for step in &plan.steps {
        let change = Transition {
            to: step.state,
            at: plan.opened_at + Duration::milliseconds(step.after_ms),
            reason: Some(step.reason.to_string()),
            actor_user_id: if step.by_operator { operator } else { None },
        };
        log.transition(id, change).await?;
    }
    Ok(id)
}

async fn write_intakes(
    ctx: &Context,
    operators: &[i64],
    seed: u64,
    chosen: &[(u64, &CallPlan, CallId)],
) -> Result<followups::Written, DemoError> {
    let mut rows = Vec::with_capacity(chosen.len());
    let mut drawn = Vec::with_capacity(chosen.len());
    for (index, plan, id) in chosen {
        let mut rng = item_rng(seed, STREAM_INTAKE, *index);
        let hint = plan
            .caller
            .as_deref()
            .and_then(|n| ctx.hasher.fingerprint(n, &ctx.directory).ok())
            .and_then(|f| f.territory_hint);
        let raw = intake::answers(&mut rng, &ctx.questionnaire, hint.as_deref());
        let answers = ctx.questionnaire.check(&raw).map_err(|e| {
            DemoError::Answers(e.first().map(|e| e.question.clone()).unwrap_or_default())
        })?;
        let triage = ctx.triage.evaluate(&answers);
        let at = |state: CallState| {
            plan.steps
                .iter()
                .find(|s| s.state == state)
                .map(|s| plan.opened_at + Duration::milliseconds(s.after_ms))
                .unwrap_or(plan.opened_at)
        };
        let (answered_at, ended_at) = (at(CallState::Answered), at(CallState::Ended));
        let by = operators.get(plan.operator).copied().unwrap_or_default();
        let json = |e: serde_json::Error| DemoError::Db(DbError::Corrupt(e.to_string()));
        rows.push(store::IntakeRow {
            call_id: *id,
            answers: serde_json::to_string(&answers).map_err(json)?,
            triage: serde_json::to_string(&triage).map_err(json)?,
            priority: triage.priority.as_str(),
            by,
            created_at: answered_at + Duration::seconds(20),
            updated_at: ended_at + Duration::seconds(60),
        });
        drawn.push((
            *index,
            *id,
            answers,
            triage,
            by,
            ended_at + Duration::seconds(60),
        ));
    }
    let ids = store::insert_intakes(&ctx.db, &rows).await?;
    let mut total = followups::Written::default();
    for (intake_id, (index, call_id, answers, triage, by, at)) in ids.into_iter().zip(&drawn) {
        let mut rng = item_rng(seed, STREAM_FOLLOW, *index);
        let intake = followups::Intake {
            id: intake_id,
            call_id: *call_id,
            answers,
            triage,
            by: *by,
            at: *at,
        };
        let w = followups::write(&ctx.db, &ctx.directory, &mut rng, &intake).await?;
        total.referrals += w.referrals;
        total.mediations += w.mediations;
    }
    Ok(total)
}

//! Command-line interface: serve, migrate, users, API tokens, configuration check, and
//! the job-queue self-test, demo data, the statistics report and exports.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::auth::{manage, tokens, users, Role, SpokenLanguages};
use crate::config::{Config, DEFAULT_CONFIG_PATH};
use crate::db::audit::{self, AuditEntry};
use crate::db::Db;
use crate::jobs::{selftest, Jobs, NewJob, PRIORITY_NORMAL};
use crate::referral::Directory;
use crate::startup::Application;
use crate::{telemetry, with_db, Error};

/// helpline — Numero Verde Anti-Tratta service.
#[derive(Debug, Parser)]
#[command(name = "helpline", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (web console, API, job worker) until SIGTERM.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage personal API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Check the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Inspect and test the durable job queue.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// The periodic report, or the statistics as CSV or JSON, for a period.
    Report(crate::stats::report::cli::ReportArgs),
    /// Synthetic data for trying the product and for benchmarks.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Fill the database with realistic synthetic calls, intakes and referrals.
    Generate(crate::demo::GenerateArgs),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from standard input when it is not a terminal,
    /// and asked for (twice) otherwise.
    Add {
        /// User name (a-z, 0-9, '.', '_', '-').
        username: String,
        /// operator, supervisor, manager, admin or contact.
        #[arg(long)]
        role: String,
    },
    /// Set the password of an operator's phones (SIP digest; only its hashes are kept).
    /// Read from standard input when it is not a terminal, asked for otherwise.
    SipPassword {
        /// The operator or supervisor.
        username: String,
    },
    /// Set the languages a user speaks (voice menu codes: it, en, fr, es, ro, ru, zh, sq):
    /// callers who choose one of them are offered to this user first.
    Languages {
        /// The user.
        username: String,
        /// Codes separated by commas, e.g. `it,en`.
        languages: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a personal API token for a user and print it (once; only its hash is kept).
    Create {
        /// The user the token acts as.
        username: String,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load and check the configuration and the directory, without starting.
    Check,
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Queue self-test jobs; every node's worker runs them; with --wait, report when all ran.
    Selftest {
        /// How many jobs.
        #[arg(long, default_value_t = 100)]
        count: u32,
        /// Simulated work per job, in milliseconds.
        #[arg(long, default_value_t = 0)]
        work_ms: u64,
        /// Wait for all of them and report how many times each ran, and where.
        #[arg(long)]
        wait: bool,
        /// Longest wait, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Print the queue figures.
    Status,
}

/// Runs one command.
pub async fn run(cli: Cli) -> Result<(), Error> {
    let config = Config::load()?;
    telemetry::init(&config.log);
    match cli.command {
        Command::Serve => Application::build(config).await?.run().await,
        Command::Migrate => {
            connect(&config).await?;
            println!("database migrated");
            Ok(())
        }
        Command::User {
            command: UserCommand::Add { username, role },
        } => {
            let role: Role = role.parse()?;
            let password = read_password()?;
            let db = connect(&config).await?;
            let id = users::add(&db, &username, role, &password, false, Utc::now()).await?;
            audit_cli(
                &db,
                "user.add",
                "user",
                id.to_string(),
                json!({ "username": username, "role": role }),
            )
            .await?;
            println!("user {username} added with role {role}");
            Ok(())
        }
        Command::User {
            command: UserCommand::SipPassword { username },
        } => {
            let password = read_password()?;
            let db = connect(&config).await?;
            let user = users::find(&db, &username).await?;
            if !matches!(user.role, Role::Operator | Role::Supervisor) {
                return Err(Error::Usage(format!(
                    "{username} is a {}: only operators and supervisors have phones",
                    user.role
                )));
            }
            let realm = &config.sip.realm;
            crate::telephony::sip::bindings::set_password(
                &db,
                &username,
                realm,
                password.expose_secret(),
            )
            .await?;
            audit_cli(
                &db,
                "user.sip_password",
                "user",
                user.id.to_string(),
                json!({ "username": username, "realm": realm }),
            )
            .await?;
            println!("phone password of {username} set for realm {realm}");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Languages {
                    username,
                    languages,
                },
        } => {
            let languages =
                SpokenLanguages::parse(&languages).map_err(crate::auth::UserError::from)?;
            let db = connect(&config).await?;
            let user = users::find(&db, &username).await?;
            manage::set_languages(&db, user.id, &languages).await?;
            audit_cli(
                &db,
                "user.languages",
                "user",
                user.id.to_string(),
                json!({ "username": username, "languages": languages.to_string() }),
            )
            .await?;
            println!("{username} speaks {languages}");
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { username, label },
        } => {
            let db = connect(&config).await?;
            let user = users::find(&db, &username).await?;
            let (token, id) = tokens::create(&db, user.id, &label, Utc::now()).await?;
            audit_cli(
                &db,
                "token.create",
                "api_token",
                id.to_string(),
                json!({ "username": username }),
            )
            .await?;
            println!("{}", token.expose_secret());
            eprintln!("This token is shown only once. Use it as: Authorization: Bearer <token>");
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => check_config(&config),
        Command::Jobs { command } => jobs_command(&config, command).await,
        Command::Demo {
            command: DemoCommand::Generate(args),
        } => crate::demo::run(&config, args).await,
        Command::Report(args) => crate::stats::report::cli::run(&config, args).await,
    }
}

async fn connect(config: &Config) -> Result<Db, Error> {
    let db = Db::connect(&config.database, config.database_backend()?).await?;
    db.migrate().await?;
    Ok(db)
}

async fn audit_cli(
    db: &Db,
    action: &'static str,
    kind: &'static str,
    id: String,
    detail: serde_json::Value,
) -> Result<(), Error> {
    let entry = AuditEntry {
        actor_user_id: None,
        actor: "cli".into(),
        action,
        object_kind: kind,
        object_id: id,
        address: None,
        detail,
    };
    audit::append(db, Utc::now(), &entry).await?;
    Ok(())
}

fn read_password() -> Result<SecretString, Error> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ")
            .map_err(|e| Error::Usage(format!("cannot read password: {e}")))?;
        let again = rpassword::prompt_password("Again: ")
            .map_err(|e| Error::Usage(format!("cannot read password: {e}")))?;
        if first != again {
            return Err(Error::Usage("the two passwords differ".into()));
        }
        Ok(SecretString::from(first))
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Usage(format!("cannot read password from standard input: {e}")))?;
        let line = line.trim_end_matches(['\n', '\r']).to_string();
        if line.is_empty() {
            return Err(Error::Usage("no password on standard input".into()));
        }
        Ok(SecretString::from(line))
    }
}

fn check_config(config: &Config) -> Result<(), Error> {
    let backend = config.database_backend()?;
    let directory = Directory::load(&config.directory.path, config.directory_is_default())?;
    let (questionnaire, triage) = crate::startup::load_intake(config, &directory)?;
    let source = std::env::var("HELPLINE_CONFIG").unwrap_or_else(|_| {
        if Path::new(DEFAULT_CONFIG_PATH).is_file() {
            DEFAULT_CONFIG_PATH.to_string()
        } else {
            "built-in defaults".into()
        }
    });
    let key = match (
        &config.privacy.caller_hash_key,
        config.privacy.caller_hash_key_file.is_file(),
    ) {
        (Some(_), _) => "inline".to_string(),
        (None, true) => format!("file {}", config.privacy.caller_hash_key_file.display()),
        (None, false) => format!(
            "file {} (created at first start)",
            config.privacy.caller_hash_key_file.display()
        ),
    };
    println!("configuration OK ({source})");
    println!("  http:        {}", config.http.addr);
    println!("  database:    {backend:?}");
    println!("  caller key:  {key}");
    println!(
        "  directory:   {} territories, {} units, {} contacts, {} mediators",
        directory.territories.len(),
        directory.units.len(),
        directory.contacts.len(),
        directory.mediators.len()
    );
    println!(
        "  lines:       {}",
        config
            .lines
            .iter()
            .map(|l| l.number.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  intake:      {} steps, {} questions; triage: {} rules",
        questionnaire.steps.len(),
        questionnaire.questions().count(),
        triage.rules.len()
    );
    println!("  job workers: {}", config.jobs.workers);
    Ok(())
}

async fn jobs_command(config: &Config, command: JobsCommand) -> Result<(), Error> {
    let db = connect(config).await?;
    let jobs = Jobs::new(db.clone(), config.jobs.max_attempts);
    match command {
        JobsCommand::Status => {
            let s = jobs.stats(Utc::now()).await?;
            println!(
                "due {}  scheduled {}  running {}  failed {}  lag {:.3}s",
                s.due, s.scheduled, s.running, s.failed, s.lag_seconds
            );
            Ok(())
        }
        JobsCommand::Selftest {
            count,
            work_ms,
            wait,
            timeout,
        } => {
            let now = Utc::now();
            let mut ids = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let job = NewJob {
                    kind: selftest::KIND.into(),
                    payload: json!({ "work_ms": work_ms }),
                    run_at: now,
                    idempotency_key: None,
                    max_attempts: None,
                    priority: PRIORITY_NORMAL,
                };
                ids.push(jobs.enqueue(&job, now).await?);
            }
            let (first, last) = (
                ids.first().copied().unwrap_or(0),
                ids.last().copied().unwrap_or(0),
            );
            println!("queued {count} self-test jobs (ids {first}..={last})");
            if !wait {
                return Ok(());
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
            loop {
                let (done, runs, distinct): (i64, i64, i64) = with_db!(&db, |pool| {
                    sqlx::query_as(
                        "select (select count(*) from jobs where id between $1 and $2 and kind = $3 and state = 'done'), \
                                (select count(*) from job_selftest_runs where job_id between $1 and $2), \
                                (select count(distinct job_id) from job_selftest_runs where job_id between $1 and $2)",
                    )
                    .bind(first)
                    .bind(last)
                    .bind(selftest::KIND)
                    .fetch_one(pool)
                    .await
                    .map_err(crate::db::DbError::from)?
                });
                if done >= i64::from(count) {
                    println!("all {count} done: {runs} runs of {distinct} distinct jobs");
                    if runs != distinct {
                        return Err(Error::Usage(format!(
                            "{} jobs ran more than once",
                            runs - distinct
                        )));
                    }
                    return Ok(());
                }
                if tokio::time::Instant::now() > deadline {
                    return Err(Error::Usage(format!("timed out: {done} of {count} done")));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

//! Typed configuration: the embedded defaults, then the file named by `HELPLINE_CONFIG`
//! (default `config/helpline.toml`), then `HELPLINE__SECTION__KEY` environment overrides,
//! then the short variables `DATABASE_URL`, `HELPLINE_HTTP_ADDR` and `HELPLINE_SIP_ADDR`.
//!
//! A wrong configuration never starts the service: the error names the source (file or
//! variable), the key and what was expected.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::telephony::menu_schedule::MenuSchedule;

/// The defaults compiled into the binary (the same text as `config/helpline.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../config/helpline.toml");
/// Where the service looks for its configuration when `HELPLINE_CONFIG` is not set.
pub const DEFAULT_CONFIG_PATH: &str = "config/helpline.toml";

/// The whole service configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Web console and JSON API.
    pub http: HttpConfig,
    /// Storage.
    pub database: DatabaseConfig,
    /// Logging.
    pub log: LogConfig,
    /// Anonymity of callers.
    pub privacy: PrivacyConfig,
    /// Directory of territories and units.
    pub directory: DirectoryConfig,
    /// Durable job queue.
    pub jobs: JobsConfig,
    /// The operators' web console.
    pub console: ConsoleConfig,
    /// Notification transports (e-mail, SMS) for referrals.
    pub notify: crate::referral::notify::NotifyConfig,
    /// Escalation of unacknowledged referrals, per priority.
    pub escalation: crate::referral::escalation::EscalationConfig,
    /// The help-line numbers this service answers.
    #[serde(default)]
    pub lines: Vec<LineConfig>,
    /// The SIP endpoint (trunk, registrar).
    pub sip: crate::telephony::SipConfig,
    /// The RTP relay: ports and the address in our SDP.
    pub media: crate::telephony::media::MediaConfig,
    /// Statistics: the report and the exports.
    pub stats: StatsConfig,
    /// Numbers hosted at a Twilio-compatible provider (voice webhooks).
    #[serde(default)]
    pub twilio: crate::telephony::twilio::TwilioConfig,
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Listening address; port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// Longest time one request may take.
    pub request_timeout_ms: u64,
    /// The address people reach the service at from outside (behind a proxy), for
    /// links in notifications; no trailing slash.
    pub public_url: String,
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`. Kept secret because it may hold a password.
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
    /// Wait for a free connection before giving up (503 to the client).
    pub acquire_timeout_ms: u64,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Human-readable or JSON lines.
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive; `RUST_LOG` wins when set.
    pub level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For a terminal.
    Human,
    /// One JSON object per line.
    Json,
}

/// `[privacy]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The HMAC key inline (wins over the file).
    #[serde(default)]
    pub caller_hash_key: Option<SecretString>,
    /// The HMAC key in a file, generated on first start when missing.
    pub caller_hash_key_file: PathBuf,
    /// Window for the repeat-caller hint.
    pub repeat_caller_window_days: u32,
    /// How long the sealed number of a missed call's callback task is kept when nobody
    /// closes the task.
    pub callback_retention_hours: u32,
}

/// `[directory]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// Path of `directory.toml`.
    pub path: PathBuf,
}

/// `[jobs]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Jobs run concurrently by this node; 0 turns the worker off on this node.
    pub workers: usize,
    /// Idle polling interval.
    pub poll_interval_ms: u64,
    /// Claim lease; a dead node's jobs are taken over after it.
    pub lease_seconds: u64,
    /// Attempts before a job is marked failed.
    pub max_attempts: u32,
    /// Backoff base.
    pub backoff_base_ms: u64,
    /// Backoff cap.
    pub backoff_max_ms: u64,
    /// Grace period on SIGTERM before claims are released.
    pub shutdown_grace_ms: u64,
}

/// `[console]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// A session ends this long after sign-in, whatever happens.
    pub session_hours: u64,
    /// A session ends after this long without a request.
    pub session_idle_minutes: u64,
    /// Failed sign-ins for one account from one address before it is locked there.
    pub lockout_failures: u32,
    /// How long the lock lasts.
    pub lockout_minutes: u64,
    /// Path of the intake questionnaire (`intake.toml`); the embedded one when missing.
    pub intake_path: PathBuf,
    /// Path of the triage rules (`triage.toml`); the embedded ones when missing.
    pub triage_path: PathBuf,
    /// Prefix of subject codes, e.g. "TOS" gives TOS-2026-00042.
    pub subject_prefix: String,
}

/// `[stats]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsConfig {
    /// In exports that leave the organisation, counts under this are hidden.
    pub suppress_below: u32,
}

/// One `[[lines]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// The dialled number, digits only (e.g. 800186086).
    pub number: String,
    /// Name shown to operators.
    pub name: String,
    /// When callers of this line hear the language menu (with `[sip] menu` on):
    /// `always`, `never`, or a daily window on the Rome clock such as `20:00-08:00`.
    #[serde(default = "menu_always")]
    pub menu: String,
    /// When the line is open, in the same form as `menu`: `always` (the help-line's
    /// 24 hours), or a daily window such as `08:00-20:00`. A call to a closed line is
    /// answered with the closed-line message (the emergency number, 112) in Italian
    /// and English, and leaves a callback task when the number was given.
    #[serde(default = "menu_always")]
    pub open: String,
}

fn menu_always() -> String {
    "always".into()
}

impl LineConfig {
    /// The `menu` setting read (checked at start: a wrong one never starts the service,
    /// so here it can only be valid; `never` would be the safe reading anyway).
    pub fn menu_schedule(&self) -> MenuSchedule {
        MenuSchedule::parse(&self.menu).unwrap_or(MenuSchedule::Never)
    }

    /// The `open` setting read (checked at start like `menu`; a line is read as open
    /// rather than closed if it ever were not, since a call must not be turned away by
    /// a slip).
    pub fn open_schedule(&self) -> MenuSchedule {
        MenuSchedule::parse(&self.open).unwrap_or(MenuSchedule::Always)
    }
}

/// Which backend a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// Shared PostgreSQL server.
    Postgres,
}

/// A configuration that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `HELPLINE_CONFIG` does not exist or cannot be read.
    #[error("configuration file {path}: {reason}")]
    File { path: String, reason: String },
    /// A key is missing, unknown, or has the wrong type or value.
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    fn key(source: &str, key: &str, expected: impl std::fmt::Display) -> Self {
        Self::Invalid(format!("{source}: key `{key}`: {expected}"))
    }
}

impl Config {
    /// Loads the configuration from the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(&env)
    }

    /// Loads with an explicit environment (tests use this to stay independent of the
    /// process environment).
    pub fn load_from(env: &[(String, String)]) -> Result<Self, ConfigError> {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let mut figment = Figment::new().merge(Toml::string(DEFAULT_CONFIG));
        let file = match get("HELPLINE_CONFIG") {
            Some(path) => {
                let p = PathBuf::from(&path);
                if !p.is_file() {
                    return Err(ConfigError::File {
                        path,
                        reason: "no such file (named by HELPLINE_CONFIG)".into(),
                    });
                }
                Some(p)
            }
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.is_file()),
        };
        if let Some(path) = &file {
            // Read it ourselves so a TOML syntax error names the file.
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            if let Err(e) = text.parse::<toml::Table>() {
                return Err(ConfigError::File {
                    path: path.display().to_string(),
                    reason: format!("not valid TOML: {}", e.message()),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // Environment last: `HELPLINE__SECTION__KEY`, then the two short variables.
        for (var, value) in env.iter().filter(|(k, _)| k.starts_with("HELPLINE__")) {
            let key = var["HELPLINE__".len()..]
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
                .join(".");
            figment = figment.merge(EnvVar::typed(var, &key, value));
        }
        if let Some(url) = get("DATABASE_URL") {
            figment = figment.merge(EnvVar::text("DATABASE_URL", "database.url", &url));
        }
        if let Some(url) = get("HELPLINE_PUBLIC_URL") {
            figment = figment.merge(EnvVar::text("HELPLINE_PUBLIC_URL", "http.public_url", &url));
        }
        if let Some(addr) = get("HELPLINE_HTTP_ADDR") {
            figment = figment.merge(EnvVar::text("HELPLINE_HTTP_ADDR", "http.addr", &addr));
        }
        if let Some(addr) = get("HELPLINE_SIP_ADDR") {
            figment = figment.merge(EnvVar::text("HELPLINE_SIP_ADDR", "sip.addr", &addr));
        }
        let config: Config = figment.extract().map_err(describe_figment_error)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that types alone cannot.
    fn validate(&self) -> Result<(), ConfigError> {
        let src = "configuration";
        self.database_backend()?;
        if self.database.max_connections == 0 {
            return Err(ConfigError::key(
                src,
                "database.max_connections",
                "expected at least 1",
            ));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(ConfigError::key(
                src,
                "log.level",
                format!(
                    "`{}` is not a log filter; expected e.g. \"info\" or \"helpline=debug\"",
                    self.log.level
                ),
            ));
        }
        if let Some(key) = &self.privacy.caller_hash_key {
            if key.expose_secret().chars().count() < 32 {
                return Err(ConfigError::key(
                    src,
                    "privacy.caller_hash_key",
                    "expected at least 32 characters",
                ));
            }
        }
        // Bounds keep every time computed from these values far from overflow.
        let public = &self.http.public_url;
        if !(public.starts_with("http://") || public.starts_with("https://"))
            || public.ends_with('/')
        {
            return Err(ConfigError::key(
                src,
                "http.public_url",
                "expected an http:// or https:// address without a trailing slash",
            ));
        }
        if let Err(bad) = self.sip.trunk_networks() {
            return Err(ConfigError::key(
                src,
                "sip.trunks",
                format!("`{bad}` is not an address or network; expected e.g. \"192.0.2.10\" or \"192.0.2.0/24\""),
            ));
        }
        if self.sip.register_min_seconds == 0
            || self.sip.register_min_seconds > self.sip.register_max_seconds
        {
            return Err(ConfigError::key(
                src,
                "sip.register_min_seconds",
                "expected at least 1 and at most sip.register_max_seconds",
            ));
        }
        if let Some(message) = self.sip.phones.iter().find_map(|p| p.source().err()) {
            return Err(ConfigError::key(src, "sip.phones", message));
        }
        if !self.sip.trunk_username.is_empty()
            && self.sip.trunk_password.expose_secret().chars().count() < 12
        {
            return Err(ConfigError::key(
                src,
                "sip.trunk_password",
                "expected at least 12 characters when sip.trunk_username is set",
            ));
        }
        if self.sip.digest_algorithms.is_empty() {
            return Err(ConfigError::key(
                src,
                "sip.digest_algorithms",
                "expected at least one of \"MD5\", \"SHA-256\"",
            ));
        }
        if self.sip.hunt_seconds == 0 {
            return Err(ConfigError::key(
                src,
                "sip.hunt_seconds",
                "expected at least 1",
            ));
        }
        if self.sip.hold_announce_every_seconds < 10 {
            // Shorter, the announcement would never let the music be heard.
            return Err(ConfigError::key(
                src,
                "sip.hold_announce_every_seconds",
                "expected at least 10",
            ));
        }
        if let Err(message) = self.sip.menu_languages() {
            return Err(ConfigError::key(src, "sip.menu_languages", message));
        }
        if self.sip.menu_wait_seconds > 30 {
            return Err(ConfigError::key(
                src,
                "sip.menu_wait_seconds",
                "expected at most 30 (a caller hearing silence longer hangs up)",
            ));
        }
        if let Err(message) = self.sip.outbound_target() {
            return Err(ConfigError::key(src, "sip.outbound", message));
        }
        if !self.sip.overflow_number.is_empty()
            && !matches!(
                crate::calls::caller::e164(&self.sip.overflow_number),
                Ok(Some(_))
            )
        {
            return Err(ConfigError::key(
                src,
                "sip.overflow_number",
                "expected a phone number, e.g. \"+39 300 000 0009\"",
            ));
        }
        if self.sip.flood_per_second == 0 {
            return Err(ConfigError::key(
                src,
                "sip.flood_per_second",
                "expected at least 1",
            ));
        }
        if let Err((key, message)) = self.media.validate() {
            return Err(ConfigError::key(src, &key, message));
        }
        if let Err((key, message)) = self.escalation.validate() {
            return Err(ConfigError::key(src, &key, message));
        }
        let prefix = &self.console.subject_prefix;
        if !(2..=8).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ConfigError::key(
                src,
                "console.subject_prefix",
                "expected 2 to 8 capital letters, e.g. \"TOS\"",
            ));
        }
        let bounded: [(&str, u64, u64, u64); 14] = [
            (
                "stats.suppress_below",
                self.stats.suppress_below.into(),
                crate::stats::report::suppress::MIN_THRESHOLD.into(),
                crate::stats::report::suppress::MAX_THRESHOLD.into(),
            ),
            ("console.session_hours", self.console.session_hours, 1, 168),
            (
                "console.session_idle_minutes",
                self.console.session_idle_minutes,
                1,
                10_080,
            ),
            (
                "console.lockout_failures",
                self.console.lockout_failures.into(),
                1,
                1_000,
            ),
            (
                "console.lockout_minutes",
                self.console.lockout_minutes,
                1,
                10_080,
            ),
            (
                "privacy.repeat_caller_window_days",
                self.privacy.repeat_caller_window_days.into(),
                1,
                3_650,
            ),
            (
                "database.acquire_timeout_ms",
                self.database.acquire_timeout_ms,
                1,
                600_000,
            ),
            (
                "http.request_timeout_ms",
                self.http.request_timeout_ms,
                1,
                3_600_000,
            ),
            ("jobs.lease_seconds", self.jobs.lease_seconds, 1, 86_400),
            (
                "jobs.poll_interval_ms",
                self.jobs.poll_interval_ms,
                1,
                60_000,
            ),
            ("jobs.max_attempts", self.jobs.max_attempts.into(), 1, 1_000),
            (
                "jobs.backoff_base_ms",
                self.jobs.backoff_base_ms,
                1,
                86_400_000,
            ),
            (
                "jobs.backoff_max_ms",
                self.jobs.backoff_max_ms,
                self.jobs.backoff_base_ms,
                7 * 86_400_000,
            ),
            (
                "jobs.shutdown_grace_ms",
                self.jobs.shutdown_grace_ms,
                0,
                3_600_000,
            ),
        ];
        for (key, value, min, max) in bounded {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::key(
                    src,
                    key,
                    format!("{value} is out of range; expected {min} to {max}"),
                ));
            }
        }
        for (i, line) in self.lines.iter().enumerate() {
            if line.number.is_empty() || !line.number.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::key(
                    src,
                    &format!("lines[{i}].number"),
                    format!(
                        "`{}` is not a number; expected digits only, e.g. \"800186086\"",
                        line.number
                    ),
                ));
            }
            if let Err(message) = MenuSchedule::parse(&line.menu) {
                return Err(ConfigError::key(src, &format!("lines[{i}].menu"), message));
            }
            if let Err(message) = MenuSchedule::parse(&line.open) {
                return Err(ConfigError::key(src, &format!("lines[{i}].open"), message));
            }
        }
        self.notify.validate()?;
        if let Err((key, why)) = self.twilio.validate(&self.http.public_url) {
            return Err(ConfigError::key(src, &key, why));
        }
        Ok(())
    }

    /// The backend selected by `database.url`.
    pub fn database_backend(&self) -> Result<Backend, ConfigError> {
        let url = self.database.url.expose_secret();
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(ConfigError::key(
                "configuration",
                "database.url",
                "expected a URL starting with sqlite:// or postgres://",
            ))
        }
    }

    /// True when the directory path is the default one.
    pub fn directory_is_default(&self) -> bool {
        self.directory.path == Path::new("config/directory.toml")
    }
}

/// One environment variable as a configuration source, so errors name the variable.
struct EnvVar {
    var: String,
    key: String,
    value: Value,
}

impl EnvVar {
    /// A value parsed like TOML (numbers, booleans, strings).
    fn typed(var: &str, key: &str, raw: &str) -> Self {
        let value = raw.parse::<Value>().unwrap_or_else(|never| match never {});
        Self {
            var: var.to_string(),
            key: key.to_string(),
            value,
        }
    }

    /// A value taken as text whatever it looks like.
    fn text(var: &str, key: &str, raw: &str) -> Self {
        Self {
            var: var.to_string(),
            key: key.to_string(),
            value: Value::from(raw.to_string()),
        }
    }
}

impl Provider for EnvVar {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("environment variable {}", self.var))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let dict = figment::util::nest(&self.key, self.value.clone())
            .into_dict()
            .ok_or_else(|| {
                figment::Error::from(format!("{}: not a configuration key", self.var))
            })?;
        Ok(Map::from([(Profile::Default, dict)]))
    }
}

/// Turns figment's errors into one message per problem naming source, key and expectation.
fn describe_figment_error(err: figment::Error) -> ConfigError {
    let lines: Vec<String> = err
        .into_iter()
        .map(|e| {
            let source = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(figment::Source::File(p)) => p.display().to_string(),
                    Some(other) => format!("{} ({other})", m.name),
                    None => m.name.to_string(),
                })
                .unwrap_or_else(|| "configuration".to_string());
            let key = if e.path.is_empty() {
                "(top level)".to_string()
            } else {
                e.path.join(".")
            };
            format!("{source}: key `{key}`: {}", e.kind)
        })
        .collect();
    ConfigError::Invalid(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn embedded_defaults_load_without_any_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("none.toml");
        std::fs::write(&cfg_path, "").unwrap();
        let cfg =
            Config::load_from(&env(&[("HELPLINE_CONFIG", cfg_path.to_str().unwrap())])).unwrap();
        assert_eq!(cfg.http.addr.port(), 8080);
        assert_eq!(cfg.database_backend().unwrap(), Backend::Sqlite);
        assert_eq!(cfg.lines[0].number, "800186086");
    }

    #[test]
    fn a_wrong_type_names_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "[jobs]\nworkers = \"many\"\n").unwrap();
        let err = Config::load_from(&env(&[("HELPLINE_CONFIG", p.to_str().unwrap())]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.toml"), "{err}");
        assert!(err.contains("jobs.workers"), "{err}");
        assert!(err.contains("expected"), "{err}");
    }

    #[test]
    fn a_line_menu_that_is_no_schedule_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("menu.toml");
        std::fs::write(
            &p,
            "[[lines]]\nnumber = \"800186086\"\nname = \"A\"\n\n\
             [[lines]]\nnumber = \"800290290\"\nname = \"B\"\nmenu = \"nights\"\n",
        )
        .unwrap();
        let err = Config::load_from(&env(&[("HELPLINE_CONFIG", p.to_str().unwrap())]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lines[1].menu"), "{err}");
        assert!(
            err.contains("`nights`") && err.contains("20:00-08:00"),
            "{err}"
        );
        std::fs::write(
            &p,
            "[sip]\nmenu = true\n\n[[lines]]\nnumber = \"800186086\"\nname = \"A\"\n\
             menu = \"20:00-08:00\"\n",
        )
        .unwrap();
        let cfg = Config::load_from(&env(&[("HELPLINE_CONFIG", p.to_str().unwrap())])).unwrap();
        assert!(cfg.sip.menu);
        assert!(matches!(
            cfg.lines[0].menu_schedule(),
            MenuSchedule::Between { .. }
        ));
    }

    #[test]
    fn the_menu_languages_hold_and_closed_hours_are_checked() {
        let load = |pairs: &[(&str, &str)]| Config::load_from(&env(pairs));
        let cfg = load(&[]).unwrap();
        assert_eq!(cfg.sip.menu_languages().unwrap().len(), 8);
        assert_eq!(cfg.sip.menu_wait_seconds, 5);
        assert_eq!(
            (
                cfg.sip.hold_announce_after_seconds,
                cfg.sip.hold_announce_every_seconds
            ),
            (10, 30)
        );
        assert_eq!(cfg.lines[0].open_schedule(), MenuSchedule::Always);
        let cfg = load(&[("HELPLINE__SIP__MENU_LANGUAGES", "[\"ro\", \"en\"]")]).unwrap();
        assert_eq!(
            cfg.sip.menu_languages().unwrap(),
            [
                crate::telephony::media::Language::Romanian,
                crate::telephony::media::Language::English
            ]
        );
        for (key, value, says) in [
            ("HELPLINE__SIP__MENU_LANGUAGES", "[\"it\", \"de\"]", "`de`"),
            ("HELPLINE__SIP__MENU_LANGUAGES", "[\"en\", \"en\"]", "twice"),
            ("HELPLINE__SIP__MENU_LANGUAGES", "[]", "at least one"),
            ("HELPLINE__SIP__MENU_WAIT_SECONDS", "90", "at most 30"),
            (
                "HELPLINE__SIP__HOLD_ANNOUNCE_EVERY_SECONDS",
                "3",
                "at least 10",
            ),
            (
                "HELPLINE__LINES",
                "[{number=\"800186086\",name=\"A\",open=\"9-17\"}]",
                "lines[0].open",
            ),
        ] {
            let err = load(&[(key, value)]).unwrap_err().to_string();
            assert!(err.contains(says), "{key}={value}: {err}");
        }
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("typo.toml");
        std::fs::write(&p, "[http]\nadress = \"1.2.3.4:80\"\n").unwrap();
        let err = Config::load_from(&env(&[("HELPLINE_CONFIG", p.to_str().unwrap())]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("adress"), "{err}");
    }

    #[test]
    fn a_missing_config_file_is_named() {
        let err = Config::load_from(&env(&[("HELPLINE_CONFIG", "/nonexistent/h.toml")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/h.toml"), "{err}");
    }

    #[test]
    fn short_variables_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.toml");
        std::fs::write(&p, "").unwrap();
        let cfg = Config::load_from(&env(&[
            ("HELPLINE_CONFIG", p.to_str().unwrap()),
            ("DATABASE_URL", "postgres://u@localhost/db"),
            ("HELPLINE_HTTP_ADDR", "127.0.0.1:0"),
        ]))
        .unwrap();
        assert_eq!(cfg.database_backend().unwrap(), Backend::Postgres);
        assert_eq!(cfg.http.addr.port(), 0);
    }

    #[test]
    fn an_unsupported_database_url_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.toml");
        std::fs::write(&p, "").unwrap();
        let err = Config::load_from(&env(&[
            ("HELPLINE_CONFIG", p.to_str().unwrap()),
            ("DATABASE_URL", "mysql://x"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("database.url"), "{err}");
    }

    #[test]
    fn a_value_that_would_overflow_a_time_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.toml");
        std::fs::write(&p, "").unwrap();
        let err = Config::load_from(&env(&[
            ("HELPLINE_CONFIG", p.to_str().unwrap()),
            ("HELPLINE__JOBS__LEASE_SECONDS", "9999999999999"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("jobs.lease_seconds") && err.contains("out of range"),
            "{err}"
        );
    }

    #[test]
    fn a_suppression_threshold_that_protects_nothing_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.toml");
        std::fs::write(&p, "[stats]\nsuppress_below = 1\n").unwrap();
        let err = Config::load_from(&env(&[("HELPLINE_CONFIG", p.to_str().unwrap())]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("stats.suppress_below"), "{err}");
        std::fs::write(&p, "").unwrap();
        let cfg = Config::load_from(&env(&[("HELPLINE_CONFIG", p.to_str().unwrap())])).unwrap();
        assert_eq!(cfg.stats.suppress_below, 3);
    }

    #[test]
    fn a_short_hash_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.toml");
        std::fs::write(&p, "[privacy]\ncaller_hash_key = \"short\"\n").unwrap();
        let err = Config::load_from(&env(&[("HELPLINE_CONFIG", p.to_str().unwrap())]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("privacy.caller_hash_key"), "{err}");
    }
}

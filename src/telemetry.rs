//! Logging with `tracing`: human-readable or JSON lines, filtered by `log.level` or
//! `RUST_LOG`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(cfg: &LogConfig) {
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.level));
    // The SIP stack logs whole messages at debug level, callers' numbers included: it
    // stays at warnings unless a filter names it on purpose.
    let named = std::env::var("RUST_LOG").unwrap_or_default() + &cfg.level;
    if !named.contains("rsipstack") {
        if let Ok(d) = "rsipstack=warn".parse() {
            filter = filter.add_directive(d);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match cfg.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // Already installed: keep the first.
    let _ = result;
}

//! Storage: a pool for SQLite (the embedded default) or PostgreSQL (several nodes on one
//! database), migrations for both, and the error type of the storage layer.
//!
//! Queries are written once in portable SQL (`$1` placeholders work on both) and compiled
//! for each backend by [`with_db!`]; where the backends differ (job claims), each arm has
//! its own SQL.

pub mod audit;

use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::{Backend, DatabaseConfig};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A connection pool on one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    /// Embedded SQLite file in WAL mode.
    Sqlite(SqlitePool),
    /// PostgreSQL server.
    Postgres(PgPool),
}

/// Runs the same block on whichever pool `db` holds; the block is compiled once per
/// backend, so the SQL in it must be portable.
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// A transaction on one of the two backends, for work that spans several statements
/// chosen at run time (a job handler's effects and the job's completion).
#[derive(Debug)]
pub enum Tx {
    /// SQLite transaction.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// PostgreSQL transaction.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs a block with the connection of a `&mut Tx`; like [`with_db!`], compiled per backend.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $conn: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $conn: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}

impl Tx {
    /// Commits.
    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached or is overloaded: try again later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A statement failed.
    #[error("database error: {0}")]
    Query(#[source] sqlx::Error),
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// SQLite's call writer (its own connection) failed.
    #[error("call writer: {0}")]
    Writer(#[from] rusqlite::Error),
    /// A stored value this binary cannot read (a row written by something else).
    #[error("database holds an unreadable value: {0}")]
    Corrupt(String),
    /// The database URL or file could not be used.
    #[error("database configuration: {0}")]
    Config(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            DbError::Unavailable(e)
        } else {
            DbError::Query(e)
        }
    }
}

impl DbError {
    /// True when trying again later may succeed (HTTP 503): the database is unreachable,
    /// overloaded or busy.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable(_) => true,
            DbError::Writer(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }

    /// True when the error is a violation of a unique key.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Query(sqlx::Error::Database(d)) if d.is_unique_violation())
    }

    /// A row named a row that does not exist.
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(self, DbError::Query(sqlx::Error::Database(d)) if d.is_foreign_key_violation())
    }
}

/// Connection-level failures: network, pool exhaustion, server shutting down, SQLite busy.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            // PostgreSQL: class 08 connection exception, 57P0x shutdown; 53xxx resources.
            // SQLite: 5 BUSY, 6 LOCKED (and their extended codes, low byte).
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
        }
        _ => false,
    }
}

impl Db {
    /// Opens a pool for the configured URL; a SQLite file and its directory are created
    /// when missing.
    pub async fn connect(cfg: &DatabaseConfig, backend: Backend) -> Result<Self, DbError> {
        let url = cfg.url.expose_secret();
        let acquire = Duration::from_millis(cfg.acquire_timeout_ms);
        match backend {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| DbError::Config(format!("database.url: {e}")))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: a commit survives power loss, not only a process crash.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                if url.contains(":memory:") || url.contains("mode=memory") {
                    return Err(DbError::Config(
                        "database.url: an in-memory SQLite database is not supported; call records must survive \
                         a restart (use sqlite://PATH)"
                            .into(),
                    ));
                }
                if let Some(parent) = options
                    .get_filename()
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        DbError::Config(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                // No ping before lending a connection: a broken one fails its query,
                // which is answered 503 like any outage, and every request saves a
                // round trip per statement.
                let pool = SqlitePoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .acquire_timeout(acquire)
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                Ok(Db::Sqlite(pool))
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| DbError::Config(format!("database.url: {e}")))?;
                let pool = PgPoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .acquire_timeout(acquire)
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Ready when the database answers and every migration of this binary is applied.
    pub async fn is_ready(&self) -> Result<bool, DbError> {
        let (migrator, applied): (&sqlx::migrate::Migrator, Vec<i64>) = match self {
            Db::Sqlite(p) => (
                &SQLITE_MIGRATIONS,
                sqlx::query_scalar("select version from _sqlx_migrations where success")
                    .fetch_all(p)
                    .await?,
            ),
            Db::Postgres(p) => (
                &POSTGRES_MIGRATIONS,
                sqlx::query_scalar("select version from _sqlx_migrations where success")
                    .fetch_all(p)
                    .await?,
            ),
        };
        Ok(migrator.iter().all(|m| applied.contains(&m.version)))
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Starts a transaction that is going to write. On SQLite it takes the write lock at
    /// once (`begin immediate`): a deferred transaction that reads and then writes fails
    /// with SQLITE_BUSY, without waiting, when another connection committed in between;
    /// an immediate one waits for the lock here, under the busy timeout, and cannot.
    pub async fn begin_write(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("begin immediate").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Which backend this pool talks to.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection (end of shutdown).
    pub async fn close(&self) {
        with_db!(self, |p| p.close().await)
    }
}

//! The fee manager's store over sqlx: SQLite (a file under the data dir) by default, PostgreSQL by URL.
//!
//! Migrations are embedded (`migrations/fees/sqlite`, `migrations/fees/postgres`) and applied on connect; the
//! PostgreSQL ones (versions 1–999) ignore the watcher's (1000–1999), so both can share one database.
//! Queries are plain SQL built at run time with bound parameters (`sqlx::query`, `QueryBuilder`), so the
//! build needs no database. The query code is written once and expanded per backend by the macros in
//! `common_sql`, `vouch_sql`, `pattern_sql`, `mux_sql` and `transfer_sql`. Every write runs in one transaction (SQLite:
//! `BEGIN IMMEDIATE`, so concurrent writers queue on the busy timeout instead of failing on upgrade) that first
//! bumps the one-row `config_version` table, so servers notice every change, including changes made by
//! another process (`butler fees`), with one primary-key read.

mod common_sql;
pub mod entity;
mod entity_sql;
mod mux_sql;
mod pattern_sql;
mod transfer_sql;
mod vouch_sql;

use std::path::PathBuf;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::FeesError;
use super::model::*;
use super::transfer::{Configuration, Plan};
use crate::pg::PgDatabase;

/// Where the fee manager keeps its data.
#[derive(Debug, Clone)]
pub enum Database {
    /// A SQLite file (created with its directory when missing).
    Sqlite { path: PathBuf },
    /// A PostgreSQL server; the password comes from a secret, never from the URL.
    Postgres(PgDatabase),
}

impl Database {
    /// A short description for logs and messages (no password).
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite { path } => format!("sqlite {}", path.display()),
            Database::Postgres(pg) => pg.describe(),
        }
    }
}

mod sqlite {
    type Db = sqlx::Sqlite;
    type Conn = sqlx::SqliteConnection;
    const STRPOS: &str = "instr";
    const HAS_PROPOSERS: &str =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'proposers'";

    async fn begin(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// A read transaction: in WAL mode every statement of it sees the same snapshot.
    async fn begin_read(
        pool: &sqlx::Pool<Db>,
    ) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        pool.begin().await
    }

    super::common_sql::common_queries!();
    super::entity_sql::entity_queries!();
    super::vouch_sql::vouch_queries!();
    super::pattern_sql::pattern_queries!();
    super::mux_sql::mux_queries!();
    super::transfer_sql::transfer_queries!();
}

mod postgres {
    type Db = sqlx::Postgres;
    type Conn = sqlx::PgConnection;
    const STRPOS: &str = "strpos";
    const HAS_PROPOSERS: &str = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'proposers'";

    async fn begin(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        pool.begin().await
    }

    /// A read transaction whose statements all see the same snapshot (the default, read committed, takes a
    /// new one per statement).
    async fn begin_read(
        pool: &sqlx::Pool<Db>,
    ) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
    }

    super::common_sql::common_queries!();
    super::entity_sql::entity_queries!();
    super::vouch_sql::vouch_queries!();
    super::pattern_sql::pattern_queries!();
    super::mux_sql::mux_queries!();
    super::transfer_sql::transfer_queries!();
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A connected, migrated store. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

/// Calls the same query function on whichever backend the store uses.
macro_rules! dispatch {
    ($self:ident . $f:ident $(:: < $t:ty >)? ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(p) => sqlite::$f $(::<$t>)? (p $(, $arg)*).await,
            Pool::Postgres(p) => postgres::$f $(::<$t>)? (p $(, $arg)*).await,
        }
    };
}

/// A Vouch entity both backends can read ([`entity::Entity`] with its row decoding).
pub trait Entity: entity::Entity + sqlite::Rows + postgres::Rows {}

impl<E: entity::Entity + sqlite::Rows + postgres::Rows> Entity for E {}

impl Store {
    /// Connects (creating a SQLite file if needed) and applies the embedded migrations.
    pub async fn connect(db: &Database) -> Result<Store, FeesError> {
        let pool = match db {
            Database::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| FeesError::DataDir {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(|e| {
                        FeesError::Config(format!(
                            "cannot open the fee database {}: {e}",
                            path.display()
                        ))
                    })?;
                sqlite::refuse_duplicate_keys(&pool).await?;
                sqlx::migrate!("migrations/fees/sqlite").run(&pool).await?;
                Pool::Sqlite(pool)
            }
            Database::Postgres(pg) => {
                let pool = pg.pool(16).await.map_err(|e| {
                    FeesError::Config(format!(
                        "cannot connect to the fee database {}: {e}",
                        pg.url
                    ))
                })?;
                postgres::refuse_duplicate_keys(&pool).await?;
                crate::pg::migrate(sqlx::migrate!("migrations/fees/postgres"), &pool).await?;
                Pool::Postgres(pool)
            }
        };
        Ok(Store { pool })
    }

    /// The backend's name: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// One page of a Vouch entity's list (default configs, proposers or patterns), by key.
    pub async fn list<E: Entity>(
        &self,
        f: &E::Filter,
        paging: Paging,
    ) -> Result<Page<Record<E>>, FeesError> {
        dispatch!(self.list::<E>(f, paging))
    }

    /// A Vouch entity by key (name, or lowercase public key), with its relays.
    pub async fn get<E: Entity>(&self, key: &str) -> Result<Option<Record<E>>, FeesError> {
        dispatch!(self.get::<E>(key))
    }

    /// Deletes a Vouch entity with its relays; false when there was none.
    pub async fn delete<E: Entity>(&self, key: &str) -> Result<bool, FeesError> {
        dispatch!(self.delete::<E>(key))
    }

    /// Creates a default config; a taken name is a conflict.
    pub async fn create_default(
        &self,
        d: &DefaultConfig,
    ) -> Result<Record<DefaultConfig>, FeesError> {
        dispatch!(self.create_default(d))
    }

    /// Replaces a default config (and its relays); a missing one is not found.
    pub async fn update_default(
        &self,
        d: &DefaultConfig,
    ) -> Result<Record<DefaultConfig>, FeesError> {
        dispatch!(self.update_default(d))
    }

    /// Creates or replaces a proposer; the flag is true when it was created.
    pub async fn put_proposer(&self, p: &Proposer) -> Result<(Record<Proposer>, bool), FeesError> {
        dispatch!(self.put_proposer(p))
    }

    pub async fn create_pattern(&self, p: &Pattern) -> Result<Record<Pattern>, FeesError> {
        dispatch!(self.create_pattern(p))
    }

    pub async fn update_pattern(&self, p: &Pattern) -> Result<Record<Pattern>, FeesError> {
        dispatch!(self.update_pattern(p))
    }

    pub async fn list_mux(&self, paging: Paging) -> Result<Page<Record<MuxSummary>>, FeesError> {
        dispatch!(self.list_mux(paging))
    }

    pub async fn get_mux(&self, name: &str) -> Result<Option<Record<Mux>>, FeesError> {
        dispatch!(self.get_mux(name))
    }

    /// Creates a mux; refuses a taken name and keys held by another mux.
    pub async fn create_mux(&self, m: &Mux) -> Result<Record<MuxSummary>, FeesError> {
        dispatch!(self.create_mux(m))
    }

    /// Replaces the keys of a mux; refuses keys held by another mux.
    pub async fn update_mux(&self, m: &Mux) -> Result<Record<MuxSummary>, FeesError> {
        dispatch!(self.update_mux(m))
    }

    pub async fn delete_mux(&self, name: &str) -> Result<bool, FeesError> {
        dispatch!(self.delete_mux(name))
    }

    /// Adds keys to a mux: (added, total).
    pub async fn add_mux_keys(&self, name: &str, keys: &[String]) -> Result<(i64, i64), FeesError> {
        dispatch!(self.add_mux_keys(name, keys))
    }

    /// Removes keys from a mux: (removed, total).
    pub async fn remove_mux_keys(
        &self,
        name: &str,
        keys: &[String],
    ) -> Result<(i64, i64), FeesError> {
        dispatch!(self.remove_mux_keys(name, keys))
    }

    /// The whole configuration.
    pub async fn export(&self) -> Result<Configuration, FeesError> {
        Ok(self.load().await?.1)
    }

    /// The whole configuration and the configuration version it is at, read from one snapshot of the
    /// database.
    pub async fn load(&self) -> Result<(i64, Configuration), FeesError> {
        dispatch!(self.load_all())
    }

    /// The configuration version: bumped by every write transaction, whichever process makes it.
    pub async fn config_version(&self) -> Result<i64, FeesError> {
        dispatch!(self.config_version())
    }

    /// Applies an import plan atomically.
    pub async fn apply(&self, plan: &Plan) -> Result<(), FeesError> {
        dispatch!(self.apply_plan(plan))
    }
}

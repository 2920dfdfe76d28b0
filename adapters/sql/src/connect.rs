//! Opening the database a URL names, tuned for its backend.

use crate::error::{SqlError, db_err};
use meai_core::StoreError;
use sea_orm::DatabaseConnection;

/// Connections to PostgreSQL: enough for a busy instance without starving a shared server.
#[cfg(feature = "postgres")]
const POSTGRES_POOL: u32 = 16;
/// Connections to a SQLite file: readers run in parallel under WAL; writers queue in-process.
#[cfg(feature = "sqlite")]
const SQLITE_POOL: u32 = 8;
/// Rows a SQLite connection's worker thread may queue ahead of the reader (sqlx's default is 50).
#[cfg(feature = "sqlite")]
const SQLITE_ROW_BUFFER: usize = 256;

/// The backends this crate knows, whether or not they were compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Sqlite,
    Postgres,
}

impl Scheme {
    pub(crate) fn of(url: &str) -> Result<Self, SqlError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(SqlError::UnsupportedUrl)
        }
    }
}

pub(crate) async fn open(url: &str) -> Result<DatabaseConnection, StoreError> {
    match Scheme::of(url)? {
        Scheme::Sqlite => sqlite::open(url).await,
        Scheme::Postgres => postgres::open(url).await,
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};
    use std::str::FromStr;
    use std::time::Duration;

    pub(crate) async fn open(url: &str) -> Result<DatabaseConnection, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            create_parent_dir(url)?;
        }
        let mut opts = ConnectOptions::new(url);
        opts.sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                .synchronous(SqliteSynchronous::Normal)
                // A 200-message page fits, so the connection's worker thread hands it over
                // without waiting for the reader to drain the channel.
                .row_buffer_size(SQLITE_ROW_BUFFER)
        });
        // sqlx pings every connection it hands out by default: a round trip through the
        // connection's worker thread before each query. A SQLite file cannot hang up on us.
        opts.test_before_acquire(false);
        if in_memory {
            // Each connection to `:memory:` would be its own database: keep exactly one, forever.
            opts.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            opts.max_connections(SQLITE_POOL);
        }
        let db = Database::connect(opts).await.map_err(db_err)?;
        if !in_memory {
            enable_wal(&db).await?;
        }
        Ok(db)
    }

    /// Lets `sqlite://data/meai.db` work on a fresh machine.
    fn create_parent_dir(url: &str) -> Result<(), StoreError> {
        let opts = SqliteConnectOptions::from_str(url).map_err(StoreError::backend)?;
        match opts.get_filename().parent() {
            Some(dir) if !dir.as_os_str().is_empty() => {
                std::fs::create_dir_all(dir).map_err(|e| SqlError::CreateDir(e).into())
            }
            _ => Ok(()),
        }
    }

    /// WAL is a property of the file: set it once, on the pool's first connection, rather than
    /// on every new connection (switching needs an exclusive lock that busy_timeout cannot wait
    /// for, so several connections racing to set it could fail).
    async fn enable_wal(db: &DatabaseConnection) -> Result<(), StoreError> {
        let row = db
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA journal_mode=WAL"))
            .await
            .map_err(db_err)?;
        let mode: String = match row {
            Some(row) => row.try_get_by_index(0).map_err(db_err)?,
            None => String::new(),
        };
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(journal_mode = %mode, "SQLite did not switch to WAL; concurrent reads will block on writes");
        }
        Ok(())
    }
}

#[cfg(not(feature = "sqlite"))]
mod sqlite {
    use super::*;

    pub(crate) async fn open(_url: &str) -> Result<DatabaseConnection, StoreError> {
        Err(SqlError::FeatureNotCompiled {
            scheme: "sqlite",
            feature: "sqlite",
        }
        .into())
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use sea_orm::{ConnectOptions, Database};
    use std::time::Duration;

    pub(crate) async fn open(url: &str) -> Result<DatabaseConnection, StoreError> {
        let mut opts = ConnectOptions::new(url);
        opts.sqlx_logging(false)
            .max_connections(POSTGRES_POOL)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10));
        // Ping only connections idle long enough for a server, proxy or firewall to have dropped
        // them, not every connection handed out (a network round trip before each query).
        opts.test_before_acquire_if_idle_for(Duration::from_secs(30));
        Database::connect(opts).await.map_err(db_err)
    }
}

#[cfg(not(feature = "postgres"))]
mod postgres {
    use super::*;

    pub(crate) async fn open(_url: &str) -> Result<DatabaseConnection, StoreError> {
        Err(SqlError::FeatureNotCompiled {
            scheme: "postgres",
            feature: "postgres",
        }
        .into())
    }
}

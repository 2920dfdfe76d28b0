//! Driver errors become [`StoreError`]s here, so no sea-orm type crosses the port.

use meai_core::StoreError;
use sea_orm::{DbErr, SqlErr};

/// Failures the adapter detects itself, reported as [`StoreError::Backend`].
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("unsupported database URL: expected `sqlite:...` or `postgres://...`")]
    UnsupportedUrl,
    #[error("database URL scheme `{scheme}:` needs meai-sql built with the `{feature}` cargo feature")]
    FeatureNotCompiled {
        scheme: &'static str,
        feature: &'static str,
    },
    #[error("could not create the directory for the SQLite database: {0}")]
    CreateDir(#[source] std::io::Error),
    #[error("stored {table}.{column} is not valid: {value:?}")]
    CorruptRow {
        table: &'static str,
        column: &'static str,
        value: String,
    },
    /// The statement a read was sent in with others failed (the first caller has its error).
    #[error("a read sent with others failed: {0}")]
    Batch(String),
}

impl From<SqlError> for StoreError {
    fn from(e: SqlError) -> Self {
        StoreError::backend(e)
    }
}

/// Maps a driver error: uniqueness -> `Conflict`, a missing row or a dangling reference ->
/// `NotFound`, anything else -> `Backend`.
pub(crate) fn db_err(e: DbErr) -> StoreError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => return StoreError::Conflict(detail),
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => return StoreError::NotFound,
        _ => {}
    }
    match e {
        DbErr::RecordNotFound(_) | DbErr::RecordNotUpdated => StoreError::NotFound,
        other => StoreError::backend(other),
    }
}

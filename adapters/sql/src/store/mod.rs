//! [`SqlStore`]: the handle, its write discipline, and one module per port trait.

mod account;
mod actions;
mod approvals;
mod archive;
mod connections;
mod conversations;
mod drafts;
mod mcp_servers;
mod memories;
mod messages;
mod policies;
mod session_cutoffs;
mod sessions;
mod usage;
mod users;

use crate::error::db_err;
use crate::write_gate::WriteGate;
use meai_core::{Store, StoreError};
use meai_migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use std::sync::Arc;
use tokio::sync::MutexGuard;

/// The PostgreSQL advisory lock key that serializes `migrate` across instances ("meAI" in hex).
const MIGRATION_LOCK: i64 = 0x6d_65_41_49;

/// meAI's Store on SQLite or PostgreSQL. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct SqlStore {
    db: DatabaseConnection,
    /// SQLite admits one writer at a time. Queueing this process's writers here keeps them
    /// from spinning in SQLite's busy handler (`busy_timeout` still covers other processes),
    /// and lets the writes before a first token go first (see [`WriteGate`]).
    writes: Option<Arc<WriteGate>>,
    /// The local vector index's per-user caches (message and memory vectors), kept coherent by
    /// this store's deletes.
    pub(crate) vectors: Arc<crate::vectors::cache::VectorCache>,
    pub(crate) memory_vectors: Arc<crate::vectors::cache::VectorCache>,
    /// Committed messages by id, for pages and histories (exact across instances: see the
    /// module).
    pub(crate) messages: Arc<crate::message_cache::MessageCache>,
    /// Conversations' trees by the version they were read at (exact across instances: see the
    /// module).
    pub(crate) trees: Arc<crate::tree_cache::TreeCache>,
    /// Users' first page of conversations by the version it was read at (exact across
    /// instances: see the module).
    pub(crate) lists: Arc<crate::list_cache::ListCache>,
    /// Trees and list versions asked for at the same time, each kind read in one statement.
    pub(crate) tree_reads: Arc<crate::tree::TreeReads>,
    pub(crate) list_reads: Arc<crate::batch::Batcher<i64, i64>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Connects to `sqlite://path` (the file is created if missing), `sqlite::memory:`, or
    /// `postgres://...`. A scheme whose cargo feature was not compiled in is an error naming it.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let db = crate::connect::open(url).await?;
        tracing::debug!(backend = backend_name(&db), "database connected");
        Ok(Self::from_connection(db))
    }

    /// Wraps a connection opened elsewhere (its schema must already be migrated, or call
    /// [`SqlStore::migrate`]).
    pub fn from_connection(db: DatabaseConnection) -> Self {
        let writes = (db.get_database_backend() == DbBackend::Sqlite).then(Arc::default);
        Self {
            db,
            writes,
            vectors: Arc::default(),
            memory_vectors: Arc::default(),
            messages: Arc::default(),
            trees: Arc::default(),
            lists: Arc::default(),
            tree_reads: Arc::default(),
            list_reads: Arc::default(),
        }
    }

    /// Applies every pending migration; a no-op when the schema is current. Safe to call from
    /// several instances starting at once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            let _gate = self.write_gate().await;
            return Migrator::up(&self.db, None).await.map_err(db_err);
        }
        // Instances behind a load balancer may all migrate at start-up: the first takes a
        // transaction-scoped advisory lock and migrates, the others wait and find nothing to do.
        let txn = self.db.begin().await.map_err(db_err)?;
        let migrated = async {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .await?;
            Migrator::up(&txn, None).await
        }
        .await;
        match migrated {
            Ok(()) => txn.commit().await.map_err(db_err),
            Err(e) => {
                txn.rollback().await.ok();
                Err(db_err(e))
            }
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        backend_name(&self.db)
    }

    /// The underlying connection pool, for other adapters that share this database.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Runs the statements as one write: a single statement is atomic by itself, so it runs
    /// without a transaction (on SQLite the write turn then lasts one round trip, not three).
    pub(crate) async fn write_all(&self, mut statements: Vec<Statement>) -> Result<(), StoreError> {
        if statements.len() == 1
            && let Some(statement) = statements.pop()
        {
            let _gate = self.write_gate().await;
            self.db.execute_raw(statement).await.map_err(db_err)?;
            return Ok(());
        }
        let txn = self.begin_write().await?;
        let outcome = async {
            for statement in statements {
                txn.conn().execute_raw(statement).await.map_err(db_err)?;
            }
            Ok(())
        }
        .await;
        txn.finish(outcome).await
    }

    /// Waits for this process's turn to write (SQLite only; PostgreSQL locks rows itself).
    async fn write_gate(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.writes {
            Some(gate) => Some(gate.rest().await),
            None => None,
        }
    }

    /// The turn for a write a person waits on before their answer's first token (their
    /// question, the answer's draft): ahead of the other writes waiting.
    async fn write_gate_first(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.writes {
            Some(gate) => Some(gate.first().await),
            None => None,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`), so a transaction that reads before writing never fails to upgrade.
    pub(crate) async fn begin_write(&self) -> Result<WriteTxn<'_>, StoreError> {
        let gate = self.write_gate().await;
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let txn = self.db.begin_with_options(options).await.map_err(db_err)?;
        Ok(WriteTxn { txn, _gate: gate })
    }
}

fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
        _ => "unsupported",
    }
}

/// A write transaction holding this process's write turn until it ends.
pub(crate) struct WriteTxn<'a> {
    txn: DatabaseTransaction,
    _gate: Option<MutexGuard<'a, ()>>,
}

impl WriteTxn<'_> {
    pub(crate) fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Commits on `Ok`, rolls back on `Err`, and passes the outcome through.
    pub(crate) async fn finish<T>(self, outcome: Result<T, StoreError>) -> Result<T, StoreError> {
        match outcome {
            Ok(value) => {
                self.txn.commit().await.map_err(db_err)?;
                Ok(value)
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }

    /// Rolls back now rather than when the connection returns to the pool, so the next writer
    /// does not find the database still locked.
    async fn rollback(self) {
        if let Err(e) = self.txn.rollback().await {
            tracing::warn!(error = %e, "rollback failed");
        }
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(db_err)
    }
}

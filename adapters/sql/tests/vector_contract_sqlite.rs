//! The VectorIndex contract on the local index over SQLite (a fresh database file per case).

mod common;

use meai_sql::SqlVectorIndex;
use std::ops::Deref;

/// The index, and the database it lives in (removed with it).
struct Local {
    index: SqlVectorIndex,
    _db: common::TempSqlite,
}

impl Deref for Local {
    type Target = SqlVectorIndex;

    fn deref(&self) -> &SqlVectorIndex {
        &self.index
    }
}

async fn local() -> Local {
    let db = common::TempSqlite::new().await;
    Local {
        index: SqlVectorIndex::new(&db),
        _db: db,
    }
}

meai_core::vector_index_contract_tests!(local);

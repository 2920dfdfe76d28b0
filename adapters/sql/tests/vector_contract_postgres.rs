//! The VectorIndex contract on the local index over PostgreSQL: a fresh database per case on
//! the server named by `TEST_DATABASE_URL`.
#![cfg(feature = "postgres")]

mod common;

use meai_sql::SqlVectorIndex;
use std::ops::Deref;

/// The index, and the database it lives in (dropped with it).
struct Local {
    index: SqlVectorIndex,
    _db: common::TempPostgres,
}

impl Deref for Local {
    type Target = SqlVectorIndex;

    fn deref(&self) -> &SqlVectorIndex {
        &self.index
    }
}

async fn local() -> Local {
    let db = common::TempPostgres::new().await;
    Local {
        index: SqlVectorIndex::new(&db),
        _db: db,
    }
}

meai_core::vector_index_contract_tests!(local);

//! The Store contract on SQLite: a fresh temp-file database per case.
#![cfg(feature = "sqlite")]

mod common;

meai_core::store_contract_tests!(|| async { Some(common::TempSqlite::new().await) });

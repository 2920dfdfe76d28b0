//! The Store contract on SQLite: a fresh temp-file database per case.
#![cfg(feature = "sqlite")]

mod common;

meai_core::store_contract_tests!(common::TempSqlite::new);
meai_core::consent_store_contract_tests!(common::TempSqlite::new);
meai_core::message_source_contract_tests!(common::TempSqlite::new);
meai_core::data_contract_tests!(common::TempSqlite::new);

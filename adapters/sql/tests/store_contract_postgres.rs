//! The Store contract on PostgreSQL: a fresh database per case on the server named by
//! `TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
#![cfg(feature = "postgres")]

mod common;

meai_core::store_contract_tests!(common::TempPostgres::new);
meai_core::consent_store_contract_tests!(common::TempPostgres::new);
meai_core::message_source_contract_tests!(common::TempPostgres::new);
meai_core::data_contract_tests!(common::TempPostgres::new);

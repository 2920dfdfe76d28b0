//! The Store contract on PostgreSQL: a fresh database per case on the server named by
//! `TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`); skipped when unset.
#![cfg(feature = "postgres")]

mod common;

meai_core::store_contract_tests!(common::TempPostgres::new);

//! meAI's schema, as sea-orm migrations written with backend-neutral SeaQuery builders so the
//! same steps run on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20250101_000001_initial;
mod m20250601_000001_message_vectors;
mod m20251201_000001_answer_drafts;
mod m20261201_000010_message_search;
mod m20261201_000020_memories;
mod m20261210_000001_consent;
mod m20261215_000001_session_cutoffs;
mod m20261220_000001_conversation_model;
mod m20261220_000001_mcp_servers;
mod m20261220_000002_message_usage;
mod m20261225_000001_message_tree;
mod m20261230_000001_message_leaf_trigger;
mod m20261231_000001_tree_version;
mod m20270101_000001_list_version;
mod per_backend;

/// Every migration, oldest first; `Migrator::up(&conn, None)` applies the pending ones.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_initial::Migration),
            Box::new(m20250601_000001_message_vectors::Migration),
            Box::new(m20261201_000010_message_search::Migration),
            Box::new(m20261201_000020_memories::Migration),
            Box::new(m20261210_000001_consent::Migration),
            Box::new(m20261215_000001_session_cutoffs::Migration),
            Box::new(m20251201_000001_answer_drafts::Migration),
            Box::new(m20261220_000001_mcp_servers::Migration),
            Box::new(m20261220_000001_conversation_model::Migration),
            Box::new(m20261220_000002_message_usage::Migration),
            Box::new(m20261225_000001_message_tree::Migration),
            Box::new(m20261230_000001_message_leaf_trigger::Migration),
            Box::new(m20261231_000001_tree_version::Migration),
            Box::new(m20270101_000001_list_version::Migration),
        ]
    }
}

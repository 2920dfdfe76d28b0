//! Keyword search on messages through an index instead of a scan: an FTS5 table over
//! `messages.content` on SQLite (external content, kept in sync by triggers, so every write of
//! the store's transactions updates it), a generated `tsvector` column with a GIN index on
//! PostgreSQL. Both tokenize the same way: words of letters and digits, lower-cased, no stemming
//! (`unicode61` / the `simple` configuration), so a search means the same on either backend.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages', \
     content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN \
     INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN \
     INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF content ON messages BEGIN \
     INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); \
     INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TABLE IF EXISTS messages_fts",
];

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE messages ADD COLUMN IF NOT EXISTS content_tsv tsvector \
     GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED",
    "CREATE INDEX IF NOT EXISTS idx_messages_content_tsv ON messages USING GIN (content_tsv)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS idx_messages_content_tsv",
    "ALTER TABLE messages DROP COLUMN IF EXISTS content_tsv",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::per_backend::run(manager, "keyword search", SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::per_backend::run(manager, "keyword search", SQLITE_DOWN, POSTGRES_DOWN).await
    }
}

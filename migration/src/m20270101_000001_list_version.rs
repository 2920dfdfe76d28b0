//! Every user counts the changes of their conversation list (`users.conversations_version`): a
//! conversation created, deleted, or changed in what a list shows (title, summary, model, times,
//! owner) bumps it in the same statement (triggers), whoever writes. A server then keeps a
//! user's first page of conversations in memory and trusts it while the stored count is the one
//! it read the page at. Bumps of `tree_version` or the active leaf alone do not count: a list
//! does not show them.
//!
//! Users there already start from the migration's time in microseconds rather than 0, so a
//! server still keeping pages from before the migration was taken down and up again cannot
//! mistake a new count for an old one (new users' ids are new).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE users ADD COLUMN conversations_version BIGINT NOT NULL DEFAULT 0",
    "UPDATE users SET conversations_version = CAST(strftime('%s', 'now') AS INTEGER) * 1000000",
    "CREATE TRIGGER IF NOT EXISTS conversations_listed AFTER INSERT ON conversations BEGIN \
     UPDATE users SET conversations_version = conversations_version + 1 WHERE id = new.user_id; END",
    "CREATE TRIGGER IF NOT EXISTS conversations_unlisted AFTER DELETE ON conversations BEGIN \
     UPDATE users SET conversations_version = conversations_version + 1 WHERE id = old.user_id; END",
    "CREATE TRIGGER IF NOT EXISTS conversations_relisted \
     AFTER UPDATE OF user_id, title, summary_text, model, created_at, updated_at ON conversations \
     WHEN old.user_id IS NOT new.user_id OR old.title IS NOT new.title \
     OR old.summary_text IS NOT new.summary_text OR old.model IS NOT new.model \
     OR old.created_at IS NOT new.created_at OR old.updated_at IS NOT new.updated_at BEGIN \
     UPDATE users SET conversations_version = conversations_version + 1 \
     WHERE id IN (old.user_id, new.user_id); END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS conversations_relisted",
    "DROP TRIGGER IF EXISTS conversations_unlisted",
    "DROP TRIGGER IF EXISTS conversations_listed",
    "ALTER TABLE users DROP COLUMN conversations_version",
];

// Inserts and deletes bump once per statement (transition tables: deleting someone's
// conversations touches their row once); an update, row by row, only when a listed column changed.
const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE users ADD COLUMN IF NOT EXISTS conversations_version BIGINT NOT NULL DEFAULT 0",
    "UPDATE users SET conversations_version = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
    "CREATE OR REPLACE FUNCTION conversations_list_changed() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN UPDATE users SET conversations_version = conversations_version + 1 \
     WHERE id IN (SELECT user_id FROM changed); RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION conversation_relisted() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN UPDATE users SET conversations_version = conversations_version + 1 \
     WHERE id IN (OLD.user_id, NEW.user_id); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS conversations_listed ON conversations",
    "CREATE TRIGGER conversations_listed AFTER INSERT ON conversations REFERENCING NEW TABLE AS changed \
     FOR EACH STATEMENT EXECUTE FUNCTION conversations_list_changed()",
    "DROP TRIGGER IF EXISTS conversations_unlisted ON conversations",
    "CREATE TRIGGER conversations_unlisted AFTER DELETE ON conversations REFERENCING OLD TABLE AS changed \
     FOR EACH STATEMENT EXECUTE FUNCTION conversations_list_changed()",
    "DROP TRIGGER IF EXISTS conversations_relisted ON conversations",
    "CREATE TRIGGER conversations_relisted \
     AFTER UPDATE OF user_id, title, summary_text, model, created_at, updated_at ON conversations \
     FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.title IS DISTINCT FROM NEW.title \
     OR OLD.summary_text IS DISTINCT FROM NEW.summary_text OR OLD.model IS DISTINCT FROM NEW.model \
     OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.updated_at IS DISTINCT FROM NEW.updated_at) \
     EXECUTE FUNCTION conversation_relisted()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS conversations_relisted ON conversations",
    "DROP TRIGGER IF EXISTS conversations_unlisted ON conversations",
    "DROP TRIGGER IF EXISTS conversations_listed ON conversations",
    "DROP FUNCTION IF EXISTS conversation_relisted()",
    "DROP FUNCTION IF EXISTS conversations_list_changed()",
    "ALTER TABLE users DROP COLUMN IF EXISTS conversations_version",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // On one connection, as the tree version's (a stale SQLite connection's schema).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::per_backend::run(manager, "the list version", SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::per_backend::run(manager, "the list version", SQLITE_DOWN, POSTGRES_DOWN).await
    }
}

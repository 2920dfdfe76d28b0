//! Every conversation counts the changes of its tree (`tree_version`): a message inserted,
//! deleted or moved bumps it in the same statement (triggers), whoever writes. A server then
//! keeps a conversation's tree in memory and trusts it while the stored count is the one it
//! read the tree with: exact on every instance, and for writes made outside the server too.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE conversations ADD COLUMN tree_version BIGINT NOT NULL DEFAULT 0",
    "DROP TRIGGER IF EXISTS messages_become_leaf",
    "CREATE TRIGGER messages_become_leaf AFTER INSERT ON messages BEGIN \
     UPDATE conversations SET active_leaf_id = new.id, updated_at = new.created_at, \
     tree_version = tree_version + 1 WHERE id = new.conversation_id; END",
    "CREATE TRIGGER IF NOT EXISTS messages_leave_tree AFTER DELETE ON messages BEGIN \
     UPDATE conversations SET tree_version = tree_version + 1 WHERE id = old.conversation_id; END",
    "CREATE TRIGGER IF NOT EXISTS messages_move_in_tree AFTER UPDATE ON messages BEGIN \
     UPDATE conversations SET tree_version = tree_version + 1 \
     WHERE id IN (old.conversation_id, new.conversation_id); END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS messages_move_in_tree",
    "DROP TRIGGER IF EXISTS messages_leave_tree",
    "DROP TRIGGER IF EXISTS messages_become_leaf",
    "CREATE TRIGGER messages_become_leaf AFTER INSERT ON messages BEGIN \
     UPDATE conversations SET active_leaf_id = new.id, updated_at = new.created_at \
     WHERE id = new.conversation_id; END",
    "ALTER TABLE conversations DROP COLUMN tree_version",
];

// Deletes and updates bump once per statement (transition tables), so deleting a conversation
// or importing one touches its row once rather than once per message.
const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE conversations ADD COLUMN IF NOT EXISTS tree_version BIGINT NOT NULL DEFAULT 0",
    "CREATE OR REPLACE FUNCTION message_becomes_leaf() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN UPDATE conversations SET active_leaf_id = NEW.id, updated_at = NEW.created_at, \
     tree_version = tree_version + 1 WHERE id = NEW.conversation_id; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION messages_left_tree() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN UPDATE conversations SET tree_version = tree_version + 1 \
     WHERE id IN (SELECT conversation_id FROM gone); RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION messages_moved_in_tree() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN UPDATE conversations SET tree_version = tree_version + 1 \
     WHERE id IN (SELECT conversation_id FROM moved_from UNION SELECT conversation_id FROM moved_to); \
     RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS messages_leave_tree ON messages",
    "CREATE TRIGGER messages_leave_tree AFTER DELETE ON messages REFERENCING OLD TABLE AS gone \
     FOR EACH STATEMENT EXECUTE FUNCTION messages_left_tree()",
    "DROP TRIGGER IF EXISTS messages_move_in_tree ON messages",
    "CREATE TRIGGER messages_move_in_tree AFTER UPDATE ON messages \
     REFERENCING OLD TABLE AS moved_from NEW TABLE AS moved_to \
     FOR EACH STATEMENT EXECUTE FUNCTION messages_moved_in_tree()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS messages_move_in_tree ON messages",
    "DROP TRIGGER IF EXISTS messages_leave_tree ON messages",
    "DROP FUNCTION IF EXISTS messages_moved_in_tree()",
    "DROP FUNCTION IF EXISTS messages_left_tree()",
    "CREATE OR REPLACE FUNCTION message_becomes_leaf() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN UPDATE conversations SET active_leaf_id = NEW.id, updated_at = NEW.created_at \
     WHERE id = NEW.conversation_id; RETURN NULL; END $$",
    "ALTER TABLE conversations DROP COLUMN IF EXISTS tree_version",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // On one connection: a SQLite connection whose schema is stale compiles `DROP TRIGGER IF
    // EXISTS` of a trigger another connection made into nothing, and the `CREATE` then fails.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::per_backend::run(manager, "the tree version", SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::per_backend::run(manager, "the tree version", SQLITE_DOWN, POSTGRES_DOWN).await
    }
}

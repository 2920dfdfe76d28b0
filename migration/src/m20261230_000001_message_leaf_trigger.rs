//! A message written becomes its conversation's active leaf and its activity time, in the same
//! statement as the insert (a trigger). An append is then one statement, atomic without a
//! transaction around it: on SQLite, where writers take turns, it holds the write lock for one
//! round trip instead of five. An import inserts many messages and then sets its leaf and
//! activity itself, inside its transaction.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TRIGGER IF NOT EXISTS messages_become_leaf AFTER INSERT ON messages BEGIN \
     UPDATE conversations SET active_leaf_id = new.id, updated_at = new.created_at \
     WHERE id = new.conversation_id; END",
];

const SQLITE_DOWN: &[&str] = &["DROP TRIGGER IF EXISTS messages_become_leaf"];

const POSTGRES_UP: &[&str] = &[
    "CREATE OR REPLACE FUNCTION message_becomes_leaf() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN UPDATE conversations SET active_leaf_id = NEW.id, updated_at = NEW.created_at \
     WHERE id = NEW.conversation_id; RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS messages_become_leaf ON messages",
    "CREATE TRIGGER messages_become_leaf AFTER INSERT ON messages \
     FOR EACH ROW EXECUTE FUNCTION message_becomes_leaf()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS messages_become_leaf ON messages",
    "DROP FUNCTION IF EXISTS message_becomes_leaf()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::per_backend::run(manager, "the leaf trigger", SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::per_backend::run(manager, "the leaf trigger", SQLITE_DOWN, POSTGRES_DOWN).await
    }
}

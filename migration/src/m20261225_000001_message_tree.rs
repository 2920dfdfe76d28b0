//! Messages as a tree: each message's `parent_id` (the message before it on its branch) and
//! each conversation's `active_leaf_id` (the last message of the branch it shows). Existing
//! conversations become one branch: every message under the one written before it, the newest
//! message the active leaf.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    ConversationId,
    ParentId,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    ActiveLeafId,
}

const INDEX: &str = "idx_messages_conversation_parent";

/// The same SQL on SQLite and PostgreSQL: correlated subqueries over the
/// `(conversation_id, id)` order the messages were written in.
const ONE_BRANCH: &str = "UPDATE messages SET parent_id = (SELECT MAX(earlier.id) FROM messages AS earlier \
     WHERE earlier.conversation_id = messages.conversation_id AND earlier.id < messages.id)";
const NEWEST_LEAF: &str = "UPDATE conversations SET active_leaf_id = (SELECT MAX(m.id) FROM messages AS m \
     WHERE m.conversation_id = conversations.id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(big_integer_null(Messages::ParentId))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .add_column(big_integer_null(Conversations::ActiveLeafId))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Messages::Table)
                    .col(Messages::ConversationId)
                    .col(Messages::ParentId)
                    .if_not_exists()
                    .take(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(ONE_BRANCH).await?;
        db.execute_unprepared(NEWEST_LEAF).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Messages::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .drop_column(Conversations::ActiveLeafId)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(Messages::ParentId)
                    .take(),
            )
            .await
    }
}

//! The local vector index: one embedding per message, beside the messages.
//!
//! No foreign keys: the store deletes a message's vector explicitly in the same transaction as
//! the message (SQLite enforces foreign keys only on connections that turned them on), and the
//! index's contract suite writes vectors for messages that do not exist.
//! `space` names the embedding model and dimensions; `vector` holds little-endian f32s.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MessageVectors {
    Table,
    MessageId,
    UserId,
    ConversationId,
    Space,
    Dimensions,
    Vector,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MessageVectors::Table)
                    .if_not_exists()
                    .col(big_integer(MessageVectors::MessageId).primary_key())
                    .col(big_integer(MessageVectors::UserId))
                    .col(big_integer(MessageVectors::ConversationId))
                    .col(text(MessageVectors::Space))
                    .col(integer(MessageVectors::Dimensions))
                    .col(blob(MessageVectors::Vector))
                    .take(),
            )
            .await?;
        // A user's vectors of one space: what the cache loads.
        manager
            .create_index(
                Index::create()
                    .name("idx_message_vectors_user_space")
                    .table(MessageVectors::Table)
                    .col(MessageVectors::UserId)
                    .col(MessageVectors::Space)
                    .if_not_exists()
                    .take(),
            )
            .await?;
        // Deleting a conversation's vectors.
        manager
            .create_index(
                Index::create()
                    .name("idx_message_vectors_conversation")
                    .table(MessageVectors::Table)
                    .col(MessageVectors::ConversationId)
                    .if_not_exists()
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MessageVectors::Table).if_exists().take())
            .await
    }
}

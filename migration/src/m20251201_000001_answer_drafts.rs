//! Drafts of answers being written: the streamed text, checkpointed while a turn runs, so an
//! answer cut by a crash is stored as far as the person saw it (see meai-core's `DraftStore`).
//!
//! One draft per conversation (a conversation answers one message at a time). The foreign key
//! cascades where the database enforces it; the store also deletes drafts with their
//! conversation explicitly (SQLite enforces foreign keys only on connections that ask).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AnswerDrafts {
    Table,
    Id,
    ConversationId,
    UserId,
    RunId,
    Content,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AnswerDrafts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AnswerDrafts::Id))
                    .col(big_integer(AnswerDrafts::ConversationId))
                    .col(big_integer(AnswerDrafts::UserId))
                    .col(big_integer(AnswerDrafts::RunId))
                    .col(text(AnswerDrafts::Content))
                    .col(timestamp_with_time_zone(AnswerDrafts::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_answer_drafts_conversation")
                            .from(AnswerDrafts::Table, AnswerDrafts::ConversationId)
                            .to(Conversations::Table, Conversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_answer_drafts_conversation")
                    .table(AnswerDrafts::Table)
                    .col(AnswerDrafts::ConversationId)
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AnswerDrafts::Table).if_exists().take())
            .await
    }
}

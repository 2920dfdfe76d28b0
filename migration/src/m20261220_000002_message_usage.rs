//! Usage per answer: the model that wrote it and the tokens the provider reported (null for
//! other messages and answers from before), with an index for a user's usage over time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    UserId,
    CreatedAt,
    Model,
    PromptTokens,
    CompletionTokens,
}

const INDEX: &str = "idx_messages_user_created";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        for column in [
            text_null(Messages::Model),
            integer_null(Messages::PromptTokens),
            integer_null(Messages::CompletionTokens),
        ] {
            let mut column = column;
            manager
                .alter_table(Table::alter().table(Messages::Table).add_column(&mut column).take())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Messages::Table)
                    .col(Messages::UserId)
                    .col(Messages::CreatedAt)
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Messages::Table).to_owned())
            .await?;
        for column in [Messages::Model, Messages::PromptTokens, Messages::CompletionTokens] {
            manager
                .alter_table(Table::alter().table(Messages::Table).drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}

//! A person's own MCP servers: name (unique per person, ignoring case, through `name_key`), URL
//! and the bearer token sealed by the app (never stored in the clear). They go with the user.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum McpServers {
    Table,
    Id,
    UserId,
    Name,
    /// The name lower-cased: what uniqueness is checked on.
    NameKey,
    Url,
    SealedToken,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(McpServers::Table)
                    .if_not_exists()
                    .col(big_pk_auto(McpServers::Id))
                    .col(big_integer(McpServers::UserId))
                    .col(text(McpServers::Name))
                    .col(text(McpServers::NameKey))
                    .col(text(McpServers::Url))
                    .col(text_null(McpServers::SealedToken))
                    .col(timestamp_with_time_zone(McpServers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mcp_servers_user")
                            .from(McpServers::Table, McpServers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        // One name per person; also serves "a person's servers".
        manager
            .create_index(
                Index::create()
                    .name("ux_mcp_servers_name")
                    .table(McpServers::Table)
                    .col(McpServers::UserId)
                    .col(McpServers::NameKey)
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(McpServers::Table).if_exists().take())
            .await
    }
}

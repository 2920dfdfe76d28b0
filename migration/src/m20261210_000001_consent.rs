//! Acting with consent: a person's tool policy rules, tool calls waiting for their decision, and
//! the action log.
//!
//! Approvals go with their conversation (and user). The action log is the person's record of
//! what happened to their accounts: it keeps its conversation and message ids as plain numbers,
//! without foreign keys, so deleting a conversation leaves it whole; it goes only with the user.
//! JSON values (arguments, provider ids) are stored as text, the same on both backends.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ToolPolicies {
    Table,
    Id,
    UserId,
    Toolkit,
    /// Empty for a rule of the whole toolkit (NULLs would never collide in the unique index).
    Tool,
    Setting,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ToolApprovals {
    Table,
    Id,
    UserId,
    ConversationId,
    BatchId,
    MessageId,
    CallId,
    Toolkit,
    Tool,
    Arguments,
    Summary,
    Status,
    ApprovedArguments,
    Edited,
    Result,
    CreatedAt,
    ExpiresAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum ToolActions {
    Table,
    Id,
    UserId,
    ConversationId,
    MessageId,
    ApprovalId,
    Toolkit,
    Tool,
    Arguments,
    Decision,
    Outcome,
    Error,
    ProviderIds,
    CreatedAt,
}

fn cascade<T: IntoIden + 'static, C: IntoIden + 'static, R: IntoIden + 'static, RC: IntoIden + 'static>(
    name: &str,
    from: (T, C),
    to: (R, RC),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
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
                    .table(ToolPolicies::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ToolPolicies::Id))
                    .col(big_integer(ToolPolicies::UserId))
                    .col(text(ToolPolicies::Toolkit))
                    .col(text(ToolPolicies::Tool))
                    .col(text(ToolPolicies::Setting))
                    .col(timestamp_with_time_zone(ToolPolicies::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_tool_policies_user",
                        (ToolPolicies::Table, ToolPolicies::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .take(),
            )
            .await?;
        // One rule per scope; also serves "a user's rules".
        manager
            .create_index(
                Index::create()
                    .name("ux_tool_policies_scope")
                    .table(ToolPolicies::Table)
                    .col(ToolPolicies::UserId)
                    .col(ToolPolicies::Toolkit)
                    .col(ToolPolicies::Tool)
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ToolApprovals::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ToolApprovals::Id))
                    .col(big_integer(ToolApprovals::UserId))
                    .col(big_integer(ToolApprovals::ConversationId))
                    .col(big_integer(ToolApprovals::BatchId))
                    .col(big_integer_null(ToolApprovals::MessageId))
                    .col(text(ToolApprovals::CallId))
                    .col(text(ToolApprovals::Toolkit))
                    .col(text(ToolApprovals::Tool))
                    .col(text(ToolApprovals::Arguments))
                    .col(text(ToolApprovals::Summary))
                    .col(text(ToolApprovals::Status))
                    .col(text_null(ToolApprovals::ApprovedArguments))
                    .col(boolean(ToolApprovals::Edited).default(false))
                    .col(text_null(ToolApprovals::Result))
                    .col(timestamp_with_time_zone(ToolApprovals::CreatedAt))
                    .col(timestamp_with_time_zone_null(ToolApprovals::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ToolApprovals::DecidedAt))
                    .foreign_key(&mut cascade(
                        "fk_tool_approvals_user",
                        (ToolApprovals::Table, ToolApprovals::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_tool_approvals_conversation",
                        (ToolApprovals::Table, ToolApprovals::ConversationId),
                        (Conversations::Table, Conversations::Id),
                    ))
                    .take(),
            )
            .await?;
        // The pending approvals of a conversation.
        manager
            .create_index(
                Index::create()
                    .name("idx_tool_approvals_conversation_status")
                    .table(ToolApprovals::Table)
                    .col(ToolApprovals::ConversationId)
                    .col(ToolApprovals::Status)
                    .if_not_exists()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tool_approvals_batch")
                    .table(ToolApprovals::Table)
                    .col(ToolApprovals::BatchId)
                    .if_not_exists()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tool_approvals_user")
                    .table(ToolApprovals::Table)
                    .col(ToolApprovals::UserId)
                    .col((ToolApprovals::Id, IndexOrder::Desc))
                    .if_not_exists()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ToolActions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ToolActions::Id))
                    .col(big_integer(ToolActions::UserId))
                    .col(big_integer_null(ToolActions::ConversationId))
                    .col(big_integer_null(ToolActions::MessageId))
                    .col(big_integer_null(ToolActions::ApprovalId))
                    .col(text(ToolActions::Toolkit))
                    .col(text(ToolActions::Tool))
                    .col(text(ToolActions::Arguments))
                    .col(text(ToolActions::Decision))
                    .col(text(ToolActions::Outcome))
                    .col(text_null(ToolActions::Error))
                    .col(text(ToolActions::ProviderIds))
                    .col(timestamp_with_time_zone(ToolActions::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_tool_actions_user",
                        (ToolActions::Table, ToolActions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .take(),
            )
            .await?;
        // The log newest first, whole, per conversation and per toolkit.
        for (name, column) in [
            ("idx_tool_actions_user", None),
            ("idx_tool_actions_user_conversation", Some(ToolActions::ConversationId)),
            ("idx_tool_actions_user_toolkit", Some(ToolActions::Toolkit)),
        ] {
            let mut index = Index::create();
            index.name(name).table(ToolActions::Table).col(ToolActions::UserId);
            if let Some(column) = column {
                index.col(column);
            }
            index.col((ToolActions::Id, IndexOrder::Desc)).if_not_exists();
            manager.create_index(index.take()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ToolActions::Table.into_iden(),
            ToolApprovals::Table.into_iden(),
            ToolPolicies::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}

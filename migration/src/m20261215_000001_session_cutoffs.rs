//! Per-user session cutoffs ("every session of this user issued up to `ended_at` has ended").
//!
//! No foreign key to `users`: a deleted account keeps its cutoff, so its old tokens stay dead.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SessionCutoffs {
    Table,
    UserId,
    EndedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SessionCutoffs::Table)
                    .if_not_exists()
                    .col(big_integer(SessionCutoffs::UserId).primary_key())
                    .col(timestamp_with_time_zone(SessionCutoffs::EndedAt))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SessionCutoffs::Table).if_exists().take())
            .await
    }
}

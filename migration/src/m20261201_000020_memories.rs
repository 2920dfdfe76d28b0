//! Memories (durable facts about the person) and what data ownership needs beside them: the
//! memories' vectors for the local index, which messages were extracted, each person's memory
//! switch, and the keys of imported conversations.
//!
//! Like `message_vectors`, `memory_vectors` has no foreign key (the store deletes a memory's
//! vector in the memory's own transaction, and the index contract writes vectors alone).
//! `memory_extractions` outlives its message on purpose: a message extracted once is never
//! extracted again, so a deleted memory does not come back from it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Memories {
    Table,
    Id,
    UserId,
    Content,
    Fingerprint,
    Origin,
    SourceMessageId,
    SourceConversationId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MemoryVectors {
    Table,
    MemoryId,
    UserId,
    Space,
    Dimensions,
    Vector,
}

#[derive(DeriveIden)]
enum MemoryExtractions {
    Table,
    MessageId,
    UserId,
    ExtractedAt,
}

#[derive(DeriveIden)]
enum MemorySettings {
    Table,
    UserId,
    Enabled,
    ChangedAt,
}

#[derive(DeriveIden)]
enum ImportKeys {
    Table,
    Id,
    UserId,
    Key,
    ConversationId,
    ImportedAt,
}

fn owned_by_user<T: IntoIden + 'static, C: IntoIden + 'static>(
    name: &str,
    table: T,
    column: C,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Users::Table, Users::Id)
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
                    .table(Memories::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Memories::Id))
                    .col(big_integer(Memories::UserId))
                    .col(text(Memories::Content))
                    .col(text(Memories::Fingerprint))
                    .col(text(Memories::Origin))
                    .col(big_integer_null(Memories::SourceMessageId))
                    .col(big_integer_null(Memories::SourceConversationId))
                    .col(timestamp_with_time_zone(Memories::CreatedAt))
                    .col(timestamp_with_time_zone(Memories::UpdatedAt))
                    .foreign_key(&mut owned_by_user(
                        "fk_memories_user",
                        Memories::Table,
                        Memories::UserId,
                    ))
                    .take(),
            )
            .await?;
        // One memory per text and person; also serves "a person's memories".
        manager
            .create_index(
                Index::create()
                    .name("ux_memories_user_fingerprint")
                    .table(Memories::Table)
                    .col(Memories::UserId)
                    .col(Memories::Fingerprint)
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MemoryVectors::Table)
                    .if_not_exists()
                    .col(big_integer(MemoryVectors::MemoryId).primary_key())
                    .col(big_integer(MemoryVectors::UserId))
                    .col(text(MemoryVectors::Space))
                    .col(integer(MemoryVectors::Dimensions))
                    .col(blob(MemoryVectors::Vector))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memory_vectors_user_space")
                    .table(MemoryVectors::Table)
                    .col(MemoryVectors::UserId)
                    .col(MemoryVectors::Space)
                    .if_not_exists()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MemoryExtractions::Table)
                    .if_not_exists()
                    .col(big_integer(MemoryExtractions::MessageId).primary_key())
                    .col(big_integer(MemoryExtractions::UserId))
                    .col(timestamp_with_time_zone(MemoryExtractions::ExtractedAt))
                    .foreign_key(&mut owned_by_user(
                        "fk_memory_extractions_user",
                        MemoryExtractions::Table,
                        MemoryExtractions::UserId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memory_extractions_user")
                    .table(MemoryExtractions::Table)
                    .col(MemoryExtractions::UserId)
                    .if_not_exists()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MemorySettings::Table)
                    .if_not_exists()
                    .col(big_integer(MemorySettings::UserId).primary_key())
                    .col(boolean(MemorySettings::Enabled))
                    .col(timestamp_with_time_zone(MemorySettings::ChangedAt))
                    .foreign_key(&mut owned_by_user(
                        "fk_memory_settings_user",
                        MemorySettings::Table,
                        MemorySettings::UserId,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ImportKeys::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ImportKeys::Id))
                    .col(big_integer(ImportKeys::UserId))
                    .col(text(ImportKeys::Key))
                    .col(big_integer(ImportKeys::ConversationId))
                    .col(timestamp_with_time_zone(ImportKeys::ImportedAt))
                    .foreign_key(&mut owned_by_user(
                        "fk_import_keys_user",
                        ImportKeys::Table,
                        ImportKeys::UserId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_import_keys_user_key")
                    .table(ImportKeys::Table)
                    .col(ImportKeys::UserId)
                    .col(ImportKeys::Key)
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ImportKeys::Table.into_iden(),
            MemorySettings::Table.into_iden(),
            MemoryExtractions::Table.into_iden(),
            MemoryVectors::Table.into_iden(),
            Memories::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}

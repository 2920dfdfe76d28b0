use super::SqlStore;
use crate::entity::{
    answer_drafts, conversations, import_keys, memories, memory_extractions, memory_settings, messages, tool_actions,
    tool_approvals, tool_policies, toolkit_connections, users,
};
use crate::error::db_err;
use meai_core::store::{AccountStore, Removed};
use meai_core::{StoreError, UserId};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// Deletes the rows of `entity` whose `column` is the user, inside the caller's transaction.
async fn by_user<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    user: UserId,
    what: &'static str,
) -> Result<Removed, StoreError> {
    let deleted = E::delete_many()
        .filter(column.eq(user.0))
        .exec(db)
        .await
        .map_err(db_err)?;
    Ok(Removed {
        what,
        rows: deleted.rows_affected,
    })
}

#[async_trait::async_trait]
impl AccountStore for SqlStore {
    async fn delete_account(&self, user: UserId) -> Result<Vec<Removed>, StoreError> {
        let txn = self.begin_write().await?;
        let outcome = async {
            let db = txn.conn();
            users::Entity::find_by_id(user.0)
                .one(db)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?;
            // Every table with a user_id, children before parents (PostgreSQL enforces the
            // foreign keys; SQLite's cascades are not relied upon). A table added to the schema
            // belongs here too: the account-deletion test lists the schema's tables and fails
            // on any that still holds the user's rows.
            let (message_vectors, memory_vectors) = crate::vectors::delete_for_user(db, user).await?;
            let mut removed = vec![
                Removed {
                    what: "message_vectors",
                    rows: message_vectors,
                },
                Removed {
                    what: "memory_vectors",
                    rows: memory_vectors,
                },
                by_user::<answer_drafts::Entity>(db, answer_drafts::Column::UserId, user, "answer_drafts").await?,
                by_user::<tool_approvals::Entity>(db, tool_approvals::Column::UserId, user, "tool_approvals").await?,
                by_user::<tool_actions::Entity>(db, tool_actions::Column::UserId, user, "tool_actions").await?,
                by_user::<tool_policies::Entity>(db, tool_policies::Column::UserId, user, "tool_policies").await?,
                by_user::<messages::Entity>(db, messages::Column::UserId, user, "messages").await?,
                by_user::<conversations::Entity>(db, conversations::Column::UserId, user, "conversations").await?,
                by_user::<memories::Entity>(db, memories::Column::UserId, user, "memories").await?,
                by_user::<memory_extractions::Entity>(
                    db,
                    memory_extractions::Column::UserId,
                    user,
                    "memory_extractions",
                )
                .await?,
                by_user::<memory_settings::Entity>(db, memory_settings::Column::UserId, user, "memory_settings")
                    .await?,
                by_user::<import_keys::Entity>(db, import_keys::Column::UserId, user, "import_keys").await?,
                by_user::<toolkit_connections::Entity>(
                    db,
                    toolkit_connections::Column::UserId,
                    user,
                    "toolkit_connections",
                )
                .await?,
            ];
            removed.push(by_user::<users::Entity>(db, users::Column::Id, user, "users").await?);
            Ok(removed)
        }
        .await;
        let removed = txn.finish(outcome).await?;
        self.vectors.user_removed(user.0);
        self.memory_vectors.user_removed(user.0);
        Ok(removed)
    }
}

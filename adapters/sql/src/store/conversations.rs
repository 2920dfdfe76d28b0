use super::SqlStore;
use crate::clock;
use crate::entity::{answer_drafts, conversations, messages};
use crate::error::db_err;
use crate::list_cache::Listed;
use crate::rows::ConversationRow;
use meai_core::store::ConversationStore;
use meai_core::{Conversation, ConversationId, Page, StoreError, Title, UserId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};

/// The user's conversation `id`, or `NotFound` if it is missing or someone else's.
pub(super) async fn owned(
    db: &impl ConnectionTrait,
    user: UserId,
    id: ConversationId,
) -> Result<conversations::Model, StoreError> {
    conversations::Entity::find_by_id(id.0)
        .filter(conversations::COLUMN.user_id.eq(user.0))
        .one(db)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)
}

/// A page of the user's conversations, most recently active first.
async fn listed(
    db: &DatabaseConnection,
    user: UserId,
    page: Page<ConversationId>,
) -> Result<Vec<Conversation>, StoreError> {
    let mut query = conversations::Entity::find()
        .filter(conversations::COLUMN.user_id.eq(user.0))
        .order_by_desc(conversations::Column::UpdatedAt)
        .order_by_desc(conversations::Column::Id);
    if let Some(before) = page.before {
        // Keyset on (updated_at, id), the order of the index: stable while rows move.
        let cursor = owned(db, user, before).await?;
        query = query.filter(
            Expr::tuple([
                Expr::col((conversations::Entity, conversations::Column::UpdatedAt)),
                Expr::col((conversations::Entity, conversations::Column::Id)),
            ])
            .lt(Expr::tuple([Expr::value(cursor.updated_at), Expr::value(cursor.id)])),
        );
    }
    if let Some(limit) = page.limit {
        query = query.limit(limit);
    }
    let rows = query
        .select_only()
        .columns(ConversationRow::COLUMNS)
        .into_model::<ConversationRow>()
        .all(db)
        .await
        .map_err(db_err)?;
    rows.into_iter().map(|row| row.0.try_into()).collect()
}

/// Each user's `conversations_version` (see [`crate::list_cache`]) among `users`; none for no
/// such user. Lists asked for at the same time read theirs in one statement.
async fn list_versions(db: &DatabaseConnection, users: Vec<i64>) -> Result<Vec<(i64, i64)>, StoreError> {
    let backend = db.get_database_backend();
    // Padded to a power of two with repeats, so a few statement texts serve every batch size
    // (the driver keeps a bounded cache of prepared statements).
    let n = users.len().next_power_of_two();
    let places: Vec<String> = (1..=n).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT id, conversations_version FROM users WHERE id IN ({})",
        places.join(", ")
    );
    let values = users.iter().cycle().take(n).map(|&user| user.into());
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get_by_index(0).map_err(db_err)?,
                row.try_get_by_index(1).map_err(db_err)?,
            ))
        })
        .collect()
}

impl SqlStore {
    /// The first page, from memory while the user's list version is the one it was kept at.
    async fn first_page(&self, user: UserId, limit: u64) -> Result<Vec<Conversation>, StoreError> {
        let kept = self.lists.get(user.0, limit);
        // Read before the page: what is kept is never older than its version.
        let db = &self.db;
        let version = self
            .list_reads
            .get(user.0, |users| async move { list_versions(db, users).await })
            .await?;
        if let (Some(kept), Some(version)) = (&kept, version)
            && kept.version == version
        {
            return Ok(kept.conversations.clone());
        }
        let page = Page {
            limit: Some(limit),
            before: None,
        };
        let conversations = listed(&self.db, user, page).await?;
        if let Some(version) = version {
            let listed = Listed {
                version,
                limit,
                conversations: conversations.clone(),
            };
            self.lists.put(user.0, listed);
        }
        Ok(conversations)
    }
}

#[async_trait::async_trait]
impl ConversationStore for SqlStore {
    async fn create_conversation_with_model(
        &self,
        user: UserId,
        title: Option<&Title>,
        model: Option<&str>,
    ) -> Result<Conversation, StoreError> {
        let now = clock::now();
        let row = conversations::ActiveModel {
            user_id: Set(user.0),
            title: Set(title.map(|t| t.as_str().to_owned())),
            summary_text: Set(None),
            model: Set(model.map(str::to_owned)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let _gate = self.write_gate().await;
        conversations::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await
            .map_err(db_err)?
            .try_into()
    }

    async fn list_conversations(
        &self,
        user: UserId,
        page: Page<ConversationId>,
    ) -> Result<Vec<Conversation>, StoreError> {
        match (page.before, page.limit) {
            (None, Some(limit)) => self.first_page(user, limit).await,
            _ => listed(&self.db, user, page).await,
        }
    }

    async fn get_conversation(&self, user: UserId, id: ConversationId) -> Result<Conversation, StoreError> {
        owned(&self.db, user, id).await?.try_into()
    }

    async fn rename_conversation(
        &self,
        user: UserId,
        id: ConversationId,
        title: &Title,
    ) -> Result<Conversation, StoreError> {
        let update = conversations::Entity::update_many()
            .col_expr(conversations::Column::Title, Expr::value(title.as_str()))
            .col_expr(conversations::Column::UpdatedAt, Expr::value(clock::now()))
            .filter(conversations::COLUMN.id.eq(id.0))
            .filter(conversations::COLUMN.user_id.eq(user.0));
        let _gate = self.write_gate().await;
        let rows = update.exec_with_returning(&self.db).await.map_err(db_err)?;
        rows.into_iter().next().ok_or(StoreError::NotFound)?.try_into()
    }

    async fn set_conversation_model(
        &self,
        user: UserId,
        id: ConversationId,
        model: Option<&str>,
    ) -> Result<Conversation, StoreError> {
        let update = conversations::Entity::update_many()
            .col_expr(conversations::Column::Model, Expr::value(model.map(str::to_owned)))
            .filter(conversations::COLUMN.id.eq(id.0))
            .filter(conversations::COLUMN.user_id.eq(user.0));
        let _gate = self.write_gate().await;
        let rows = update.exec_with_returning(&self.db).await.map_err(db_err)?;
        rows.into_iter().next().ok_or(StoreError::NotFound)?.try_into()
    }

    // A summary refresh is bookkeeping, not activity: `updated_at` stays put.
    async fn set_summary(&self, user: UserId, id: ConversationId, summary: &str) -> Result<(), StoreError> {
        let update = conversations::Entity::update_many()
            .col_expr(conversations::Column::SummaryText, Expr::value(summary))
            .filter(conversations::COLUMN.id.eq(id.0))
            .filter(conversations::COLUMN.user_id.eq(user.0));
        let _gate = self.write_gate().await;
        match update.exec(&self.db).await.map_err(db_err)?.rows_affected {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn delete_conversation(&self, user: UserId, id: ConversationId) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let outcome = async {
            owned(txn.conn(), user, id).await?;
            // Explicitly, rather than trusting ON DELETE CASCADE: SQLite enforces foreign keys
            // only on connections that turned them on.
            messages::Entity::delete_many()
                .filter(messages::COLUMN.conversation_id.eq(id.0))
                .exec(txn.conn())
                .await
                .map_err(db_err)?;
            // Its pending and decided approvals too (the action log stays).
            crate::entity::tool_approvals::Entity::delete_many()
                .filter(crate::entity::tool_approvals::COLUMN.conversation_id.eq(id.0))
                .exec(txn.conn())
                .await
                .map_err(db_err)?;
            answer_drafts::Entity::delete_many()
                .filter(answer_drafts::COLUMN.conversation_id.eq(id.0))
                .exec(txn.conn())
                .await
                .map_err(db_err)?;
            conversations::Entity::delete_by_id(id.0)
                .exec(txn.conn())
                .await
                .map_err(db_err)?;
            // And their vectors (the local vector index), in the same transaction.
            crate::vectors::delete_for_conversation(txn.conn(), user, id).await
        }
        .await;
        txn.finish(outcome).await?;
        self.vectors.conversation_removed(user.0, id.0);
        Ok(())
    }
}

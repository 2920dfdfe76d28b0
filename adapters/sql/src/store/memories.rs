use super::SqlStore;
use crate::clock;
use crate::entity::{memories, memory_extractions, memory_settings};
use crate::error::db_err;
use crate::mapping;
use meai_core::store::{MemoryFactStore, Remembered};
use meai_core::*;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashSet;

async fn count(db: &impl ConnectionTrait, user: UserId) -> Result<u64, StoreError> {
    memories::Entity::find()
        .filter(memories::Column::UserId.eq(user.0))
        .count(db)
        .await
        .map_err(db_err)
}

async fn same_text(
    db: &impl ConnectionTrait,
    user: UserId,
    text: &MemoryText,
) -> Result<Option<memories::Model>, StoreError> {
    memories::Entity::find()
        .filter(memories::Column::UserId.eq(user.0))
        .filter(memories::Column::Fingerprint.eq(text.fingerprint()))
        .one(db)
        .await
        .map_err(db_err)
}

async fn insert(db: &impl ConnectionTrait, user: UserId, memory: &NewMemory) -> Result<memories::Model, StoreError> {
    let now = clock::now();
    let row = memories::ActiveModel {
        user_id: Set(user.0),
        content: Set(memory.content.as_str().to_owned()),
        fingerprint: Set(memory.content.fingerprint()),
        origin: Set(memory.origin.as_str().to_owned()),
        source_message_id: Set(memory.source.map(|s| s.message_id.0)),
        source_conversation_id: Set(memory.source.map(|s| s.conversation_id.0)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    memories::Entity::insert(row)
        .exec_with_returning(db)
        .await
        .map_err(db_err)
}

#[async_trait::async_trait]
impl MemoryFactStore for SqlStore {
    async fn list_memories(&self, user: UserId, page: Page<MemoryId>) -> Result<Vec<MemoryFact>, StoreError> {
        let mut query = memories::Entity::find()
            .filter(memories::Column::UserId.eq(user.0))
            .order_by_desc(memories::Column::Id);
        if let Some(before) = page.before {
            memories::Entity::find_by_id(before.0)
                .filter(memories::Column::UserId.eq(user.0))
                .one(&self.db)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?;
            query = query.filter(memories::Column::Id.lt(before.0));
        }
        if let Some(limit) = page.limit {
            query = query.limit(limit);
        }
        mapping::all(query.all(&self.db).await.map_err(db_err)?)
    }

    async fn count_memories(&self, user: UserId) -> Result<u64, StoreError> {
        count(&self.db, user).await
    }

    async fn memories_by_ids(&self, user: UserId, ids: &[MemoryId]) -> Result<Vec<MemoryFact>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = memories::Entity::find()
            .filter(memories::Column::UserId.eq(user.0))
            .filter(memories::Column::Id.is_in(ids.iter().map(|m| m.0)))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        mapping::all(rows)
    }

    async fn add_memory(&self, user: UserId, memory: &NewMemory, max: u64) -> Result<Remembered, StoreError> {
        let txn = self.begin_write().await?;
        let outcome = async {
            if let Some(existing) = same_text(txn.conn(), user, &memory.content).await? {
                return Ok(Remembered::Duplicate(existing.try_into()?));
            }
            if count(txn.conn(), user).await? >= max {
                return Err(StoreError::Conflict(format!("memory is full ({max} memories)")));
            }
            Ok(Remembered::New(insert(txn.conn(), user, memory).await?.try_into()?))
        }
        .await;
        txn.finish(outcome).await
    }

    async fn edit_memory(&self, user: UserId, id: MemoryId, text: &MemoryText) -> Result<MemoryFact, StoreError> {
        let update = memories::Entity::update_many()
            .col_expr(memories::Column::Content, Expr::value(text.as_str()))
            .col_expr(memories::Column::Fingerprint, Expr::value(text.fingerprint()))
            .col_expr(memories::Column::UpdatedAt, Expr::value(clock::now()))
            .filter(memories::Column::Id.eq(id.0))
            .filter(memories::Column::UserId.eq(user.0));
        let txn = self.begin_write().await?;
        let outcome = async {
            let row = update
                .exec_with_returning(txn.conn())
                .await
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict(_) => StoreError::Conflict("another memory already says this".into()),
                    other => other,
                })?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)?;
            // The old text's vector goes with it (the local index); the caller embeds the new one.
            crate::vectors::delete_for_memories(txn.conn(), user, &[id.0]).await?;
            MemoryFact::try_from(row)
        }
        .await;
        let fact = txn.finish(outcome).await?;
        self.memory_vectors.removed(user.0, &[id.0]);
        Ok(fact)
    }

    async fn delete_memory(&self, user: UserId, id: MemoryId) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let outcome = async {
            let deleted = memories::Entity::delete_many()
                .filter(memories::Column::Id.eq(id.0))
                .filter(memories::Column::UserId.eq(user.0))
                .exec(txn.conn())
                .await
                .map_err(db_err)?;
            if deleted.rows_affected == 0 {
                return Err(StoreError::NotFound);
            }
            crate::vectors::delete_for_memories(txn.conn(), user, &[id.0]).await
        }
        .await;
        txn.finish(outcome).await?;
        self.memory_vectors.removed(user.0, &[id.0]);
        Ok(())
    }

    async fn unextracted(&self, user: UserId, messages: &[MessageId]) -> Result<Vec<MessageId>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let done: HashSet<i64> = memory_extractions::Entity::find()
            .select_only()
            .column(memory_extractions::Column::MessageId)
            .filter(memory_extractions::Column::UserId.eq(user.0))
            .filter(memory_extractions::Column::MessageId.is_in(messages.iter().map(|m| m.0)))
            .into_tuple::<i64>()
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .collect();
        Ok(messages.iter().filter(|m| !done.contains(&m.0)).copied().collect())
    }

    async fn record_extraction(
        &self,
        user: UserId,
        messages: &[MessageId],
        memories: &[NewMemory],
        max: u64,
    ) -> Result<Vec<MemoryFact>, StoreError> {
        let txn = self.begin_write().await?;
        let outcome = async {
            let db = txn.conn();
            let mut fresh = HashSet::new();
            let now = clock::now();
            for m in messages {
                let row = memory_extractions::ActiveModel {
                    message_id: Set(m.0),
                    user_id: Set(user.0),
                    extracted_at: Set(now),
                };
                let inserted = memory_extractions::Entity::insert(row)
                    .on_conflict_do_nothing_on([memory_extractions::Column::MessageId])
                    .exec_without_returning(db)
                    .await
                    .map_err(db_err)?;
                if matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
                    fresh.insert(m.0);
                }
            }
            let mut added = Vec::new();
            let mut total = count(db, user).await?;
            for memory in memories {
                let from_fresh = memory.source.is_some_and(|s| fresh.contains(&s.message_id.0));
                if !from_fresh || total >= max || same_text(db, user, &memory.content).await?.is_some() {
                    continue;
                }
                added.push(MemoryFact::try_from(insert(db, user, memory).await?)?);
                total += 1;
            }
            Ok(added)
        }
        .await;
        txn.finish(outcome).await
    }

    async fn memory_switch(&self, user: UserId) -> Result<MemorySwitch, StoreError> {
        Ok(memory_settings::Entity::find_by_id(user.0)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(|row| MemorySwitch {
                enabled: row.enabled,
                changed_at: Some(row.changed_at),
            })
            .unwrap_or_default())
    }

    async fn set_memory_switch(&self, user: UserId, enabled: bool) -> Result<MemorySwitch, StoreError> {
        let now = clock::now();
        let row = memory_settings::ActiveModel {
            user_id: Set(user.0),
            enabled: Set(enabled),
            changed_at: Set(now),
        };
        let upsert = memory_settings::Entity::insert(row).on_conflict(
            OnConflict::column(memory_settings::Column::UserId)
                .update_columns([memory_settings::Column::Enabled, memory_settings::Column::ChangedAt])
                .to_owned(),
        );
        let _gate = self.write_gate().await;
        // A user that does not exist is a dangling reference: NotFound (PostgreSQL enforces it).
        upsert.exec(&self.db).await.map_err(db_err)?;
        Ok(MemorySwitch {
            enabled,
            changed_at: Some(now),
        })
    }

    async fn memories_after(&self, after: Option<MemoryId>, limit: u64) -> Result<Vec<MemoryFact>, StoreError> {
        let mut query = memories::Entity::find().order_by_asc(memories::Column::Id).limit(limit);
        if let Some(after) = after {
            query = query.filter(memories::Column::Id.gt(after.0));
        }
        mapping::all(query.all(&self.db).await.map_err(db_err)?)
    }
}

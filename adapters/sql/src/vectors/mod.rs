//! The `local` vector index: embeddings in the `message_vectors` table beside the messages,
//! exact cosine search in Rust over a per-user in-memory cache ([`cache`]).
//!
//! Because the vectors share the messages' database, deleting a message or a conversation
//! deletes its vectors in the same transaction ([`delete_for_messages`],
//! [`delete_for_conversation`], called by the store).

pub(crate) mod cache;
pub mod entity;
mod scan;
mod source;

use crate::error::db_err;
use crate::store::SqlStore;
use cache::UserVectors;
use meai_core::memory::{VectorError, VectorHit, VectorIndex, VectorPoint, VectorQuery};
use meai_core::{ConversationId, MessageId, StoreError, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

pub use cache::{DEFAULT_MAX_USERS, DEFAULT_TTL};

/// Rows per INSERT: well under SQLite's bound-parameter limit (6 columns each).
const INSERT_CHUNK: usize = 500;

fn store_err(e: StoreError) -> VectorError {
    match e {
        StoreError::Backend(e) => VectorError::Unavailable(e.to_string()),
        other => VectorError::Backend(other.to_string()),
    }
}

/// The `local` [`VectorIndex`] on the store's database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqlVectorIndex {
    store: SqlStore,
}

impl SqlVectorIndex {
    /// Shares the store's pool, write discipline and vector cache (so the store's deletes keep
    /// the cache coherent).
    pub fn new(store: &SqlStore) -> Self {
        Self { store: store.clone() }
    }

    /// The user's vectors of `space`, from the cache or loaded into it.
    async fn user_vectors(
        &self,
        user: UserId,
        space: &str,
        dims: usize,
    ) -> Result<std::sync::Arc<std::sync::RwLock<UserVectors>>, VectorError> {
        let cache = &self.store.vectors;
        if let Some(entry) = cache.get(user.0, space) {
            return Ok(entry);
        }
        let seen = cache.generation(user.0);
        let rows: Vec<(i64, i64, Vec<u8>)> = entity::Entity::find()
            .select_only()
            .columns([
                entity::Column::MessageId,
                entity::Column::ConversationId,
                entity::Column::Vector,
            ])
            .filter(entity::Column::UserId.eq(user.0))
            .filter(entity::Column::Space.eq(space))
            .into_tuple()
            .all(self.store.connection())
            .await
            .map_err(|e| store_err(db_err(e)))?;
        let mut vectors = UserVectors::new(space, dims);
        for (message, conversation, bytes) in rows {
            vectors.put(message, conversation, entity::decode(&bytes));
        }
        tracing::debug!(user_id = %user, vectors = vectors.len(), "vector cache loaded");
        Ok(cache.install(user.0, seen, vectors))
    }
}

/// Deletes the messages' vectors inside the caller's transaction.
pub(crate) async fn delete_for_messages(
    db: &impl ConnectionTrait,
    user: UserId,
    ids: &[i64],
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    entity::Entity::delete_many()
        .filter(entity::Column::UserId.eq(user.0))
        .filter(entity::Column::MessageId.is_in(ids.iter().copied()))
        .exec(db)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Deletes the conversation's vectors inside the caller's transaction.
pub(crate) async fn delete_for_conversation(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
) -> Result<(), StoreError> {
    entity::Entity::delete_many()
        .filter(entity::Column::UserId.eq(user.0))
        .filter(entity::Column::ConversationId.eq(conversation.0))
        .exec(db)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait::async_trait]
impl VectorIndex for SqlVectorIndex {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn upsert(&self, space: &str, points: &[VectorPoint]) -> Result<(), VectorError> {
        if points.is_empty() {
            return Ok(());
        }
        if points.iter().any(|p| p.vector.is_empty()) {
            return Err(VectorError::Invalid("empty vector".into()));
        }
        let txn = self.store.begin_write().await.map_err(store_err)?;
        let outcome = async {
            for chunk in points.chunks(INSERT_CHUNK) {
                let rows = chunk.iter().map(|p| entity::ActiveModel {
                    message_id: Set(p.message_id.0),
                    user_id: Set(p.user_id.0),
                    conversation_id: Set(p.conversation_id.0),
                    space: Set(space.to_owned()),
                    dimensions: Set(p.vector.len() as i32),
                    vector: Set(entity::encode(&p.vector)),
                });
                let on_conflict = OnConflict::column(entity::Column::MessageId)
                    .update_columns([
                        entity::Column::UserId,
                        entity::Column::ConversationId,
                        entity::Column::Space,
                        entity::Column::Dimensions,
                        entity::Column::Vector,
                    ])
                    .to_owned();
                entity::Entity::insert_many(rows)
                    .on_conflict(on_conflict)
                    .exec(txn.conn())
                    .await
                    .map_err(db_err)?;
            }
            Ok(())
        }
        .await;
        txn.finish(outcome).await.map_err(store_err)?;
        self.store.vectors.upserted(space, points);
        Ok(())
    }

    async fn search(&self, space: &str, query: &VectorQuery<'_>) -> Result<Vec<VectorHit>, VectorError> {
        if query.vector.is_empty() {
            return Err(VectorError::Invalid("empty query vector".into()));
        }
        let entry = self.user_vectors(query.user, space, query.vector.len()).await?;
        let vectors = entry.read().unwrap_or_else(|p| p.into_inner());
        Ok(vectors.search(query.vector, query.conversation, query.k))
    }

    async fn delete_messages(&self, user: UserId, ids: &[MessageId]) -> Result<(), VectorError> {
        let ids: Vec<i64> = ids.iter().map(|m| m.0).collect();
        let txn = self.store.begin_write().await.map_err(store_err)?;
        let outcome = delete_for_messages(txn.conn(), user, &ids).await;
        txn.finish(outcome).await.map_err(store_err)?;
        self.store.vectors.messages_removed(user.0, &ids);
        Ok(())
    }

    async fn delete_conversation(&self, user: UserId, conversation: ConversationId) -> Result<(), VectorError> {
        let txn = self.store.begin_write().await.map_err(store_err)?;
        let outcome = delete_for_conversation(txn.conn(), user, conversation).await;
        txn.finish(outcome).await.map_err(store_err)?;
        self.store.vectors.conversation_removed(user.0, conversation.0);
        Ok(())
    }

    async fn clear(&self) -> Result<(), VectorError> {
        let txn = self.store.begin_write().await.map_err(store_err)?;
        let outcome = entity::Entity::delete_many()
            .exec(txn.conn())
            .await
            .map(|_| ())
            .map_err(db_err);
        txn.finish(outcome).await.map_err(store_err)?;
        self.store.vectors.clear();
        Ok(())
    }
}

//! The `local` vector index: embeddings in the `message_vectors` and `memory_vectors` tables
//! beside the messages and memories, exact cosine search in Rust over per-user in-memory caches
//! ([`cache`], one per kind).
//!
//! Because the vectors share the database, deleting a message, a conversation, a memory or an
//! account deletes its vectors in the same transaction ([`delete_for_messages`],
//! [`delete_for_conversation`], [`delete_for_memories`], [`delete_for_user`], called by the
//! store).

pub(crate) mod cache;
pub mod entity;
pub mod memory_entity;
mod scan;
mod source;

use crate::error::db_err;
use crate::store::SqlStore;
use cache::{Cached, UserVectors, VectorCache};
use meai_core::memory::{
    VectorError, VectorHit, VectorIndex, VectorItem, VectorKey, VectorPoint, VectorQuery, VectorScope,
};
use meai_core::{ConversationId, MemoryId, MessageId, StoreError, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use std::sync::{Arc, RwLock};

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

/// The two kinds of points, each in its table and cache.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Messages,
    Memories,
}

impl SqlVectorIndex {
    /// Shares the store's pool, write discipline and vector caches (so the store's deletes keep
    /// the caches coherent).
    pub fn new(store: &SqlStore) -> Self {
        Self { store: store.clone() }
    }

    fn cache(&self, kind: Kind) -> &VectorCache {
        match kind {
            Kind::Messages => &self.store.vectors,
            Kind::Memories => &self.store.memory_vectors,
        }
    }

    /// The user's vectors of `space` and `kind`, from the cache or loaded into it.
    async fn user_vectors(
        &self,
        user: UserId,
        space: &str,
        dims: usize,
        kind: Kind,
    ) -> Result<Arc<RwLock<UserVectors>>, VectorError> {
        let cache = self.cache(kind);
        if let Some(entry) = cache.get(user.0, space) {
            return Ok(entry);
        }
        let seen = cache.generation(user.0);
        let db = self.store.connection();
        let rows: Vec<(i64, i64, Vec<u8>)> = match kind {
            Kind::Messages => {
                entity::Entity::find()
                    .select_only()
                    .columns([
                        entity::Column::MessageId,
                        entity::Column::ConversationId,
                        entity::Column::Vector,
                    ])
                    .filter(entity::Column::UserId.eq(user.0))
                    .filter(entity::Column::Space.eq(space))
                    .into_tuple()
                    .all(db)
                    .await
            }
            Kind::Memories => {
                memory_entity::Entity::find()
                    .select_only()
                    .column(memory_entity::Column::MemoryId)
                    .column_as(sea_orm::sea_query::Expr::value(0i64), "conversation_id")
                    .column(memory_entity::Column::Vector)
                    .filter(memory_entity::Column::UserId.eq(user.0))
                    .filter(memory_entity::Column::Space.eq(space))
                    .into_tuple()
                    .all(db)
                    .await
            }
        }
        .map_err(|e| store_err(db_err(e)))?;
        let mut vectors = UserVectors::new(space, dims);
        for (id, conversation, bytes) in rows {
            vectors.put(id, conversation, &entity::decode(&bytes));
        }
        tracing::debug!(user_id = %user, vectors = vectors.len(), "vector cache loaded");
        Ok(cache.install(user.0, seen, vectors))
    }

    async fn write(
        &self,
        work: impl AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<(), StoreError>,
    ) -> Result<(), VectorError> {
        let txn = self.store.begin_write().await.map_err(store_err)?;
        let outcome = work(txn.conn()).await;
        txn.finish(outcome).await.map_err(store_err)
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

/// Deletes the memories' vectors inside the caller's transaction.
pub(crate) async fn delete_for_memories(
    db: &impl ConnectionTrait,
    user: UserId,
    ids: &[i64],
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    memory_entity::Entity::delete_many()
        .filter(memory_entity::Column::UserId.eq(user.0))
        .filter(memory_entity::Column::MemoryId.is_in(ids.iter().copied()))
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

/// Deletes every vector of the user inside the caller's transaction; returns how many rows of
/// each table went: `(message vectors, memory vectors)`.
pub(crate) async fn delete_for_user(db: &impl ConnectionTrait, user: UserId) -> Result<(u64, u64), StoreError> {
    let messages = entity::Entity::delete_many()
        .filter(entity::Column::UserId.eq(user.0))
        .exec(db)
        .await
        .map_err(db_err)?;
    let memories = memory_entity::Entity::delete_many()
        .filter(memory_entity::Column::UserId.eq(user.0))
        .exec(db)
        .await
        .map_err(db_err)?;
    Ok((messages.rows_affected, memories.rows_affected))
}

/// The keys of one kind, as row ids.
fn split(keys: &[VectorKey]) -> (Vec<i64>, Vec<i64>) {
    let mut messages = Vec::new();
    let mut memories = Vec::new();
    for key in keys {
        match key {
            VectorKey::Message(MessageId(id)) => messages.push(*id),
            VectorKey::Memory(MemoryId(id)) => memories.push(*id),
        }
    }
    (messages, memories)
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
        let messages: Vec<Cached<'_>> = points
            .iter()
            .filter_map(|p| match p.item {
                VectorItem::Message { id, conversation } => Some(Cached {
                    user: p.user_id.0,
                    id: id.0,
                    conversation: conversation.0,
                    vector: &p.vector,
                }),
                VectorItem::Memory { .. } => None,
            })
            .collect();
        let memories: Vec<Cached<'_>> = points
            .iter()
            .filter_map(|p| match p.item {
                VectorItem::Memory { id } => Some(Cached {
                    user: p.user_id.0,
                    id: id.0,
                    conversation: 0,
                    vector: &p.vector,
                }),
                VectorItem::Message { .. } => None,
            })
            .collect();
        let backend = self.store.connection().get_database_backend();
        let mut statements = Vec::new();
        for chunk in messages.chunks(INSERT_CHUNK) {
            let rows = chunk.iter().map(|p| entity::ActiveModel {
                message_id: Set(p.id),
                user_id: Set(p.user),
                conversation_id: Set(p.conversation),
                space: Set(space.to_owned()),
                dimensions: Set(p.vector.len() as i32),
                vector: Set(entity::encode(p.vector)),
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
            statements.push(
                entity::Entity::insert_many(rows)
                    .on_conflict(on_conflict)
                    .build(backend),
            );
        }
        for chunk in memories.chunks(INSERT_CHUNK) {
            let rows = chunk.iter().map(|p| memory_entity::ActiveModel {
                memory_id: Set(p.id),
                user_id: Set(p.user),
                space: Set(space.to_owned()),
                dimensions: Set(p.vector.len() as i32),
                vector: Set(entity::encode(p.vector)),
            });
            let on_conflict = OnConflict::column(memory_entity::Column::MemoryId)
                .update_columns([
                    memory_entity::Column::UserId,
                    memory_entity::Column::Space,
                    memory_entity::Column::Dimensions,
                    memory_entity::Column::Vector,
                ])
                .to_owned();
            statements.push(
                memory_entity::Entity::insert_many(rows)
                    .on_conflict(on_conflict)
                    .build(backend),
            );
        }
        self.store.write_all(statements).await.map_err(store_err)?;
        self.store.vectors.upserted(space, &messages);
        self.store.memory_vectors.upserted(space, &memories);
        Ok(())
    }

    async fn search(&self, space: &str, query: &VectorQuery<'_>) -> Result<Vec<VectorHit>, VectorError> {
        if query.vector.is_empty() {
            return Err(VectorError::Invalid("empty query vector".into()));
        }
        let (kind, conversation) = match query.scope {
            VectorScope::Messages => (Kind::Messages, None),
            VectorScope::Conversation(c) => (Kind::Messages, Some(c.0)),
            VectorScope::Memories => (Kind::Memories, None),
        };
        let entry = self.user_vectors(query.user, space, query.vector.len(), kind).await?;
        let vectors = entry.read().unwrap_or_else(|p| p.into_inner());
        Ok(vectors
            .search(query.vector, conversation, query.k)
            .into_iter()
            .map(|(id, conversation, score)| VectorHit {
                item: match kind {
                    Kind::Messages => VectorItem::Message {
                        id: MessageId(id),
                        conversation: ConversationId(conversation),
                    },
                    Kind::Memories => VectorItem::Memory { id: MemoryId(id) },
                },
                score,
            })
            .collect())
    }

    async fn delete(&self, user: UserId, keys: &[VectorKey]) -> Result<(), VectorError> {
        let (messages, memories) = split(keys);
        self.write(async |db| {
            delete_for_messages(db, user, &messages).await?;
            delete_for_memories(db, user, &memories).await
        })
        .await?;
        self.store.vectors.removed(user.0, &messages);
        self.store.memory_vectors.removed(user.0, &memories);
        Ok(())
    }

    async fn delete_conversation(&self, user: UserId, conversation: ConversationId) -> Result<(), VectorError> {
        self.write(async |db| delete_for_conversation(db, user, conversation).await)
            .await?;
        self.store.vectors.conversation_removed(user.0, conversation.0);
        Ok(())
    }

    async fn delete_user(&self, user: UserId) -> Result<(), VectorError> {
        self.write(async |db| delete_for_user(db, user).await.map(|_| ()))
            .await?;
        self.store.vectors.user_removed(user.0);
        self.store.memory_vectors.user_removed(user.0);
        Ok(())
    }

    async fn clear(&self) -> Result<(), VectorError> {
        self.write(async |db| {
            entity::Entity::delete_many().exec(db).await.map_err(db_err)?;
            memory_entity::Entity::delete_many().exec(db).await.map_err(db_err)?;
            Ok(())
        })
        .await?;
        self.store.vectors.clear();
        self.store.memory_vectors.clear();
        Ok(())
    }
}

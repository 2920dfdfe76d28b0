//! The `qdrant` index: a Qdrant server over gRPC (`qdrant-client`, pre-generated code, no
//! `protoc`).
//!
//! Layout: one collection per embedding space and kind of point, cosine distance, sized by the
//! first vector written: `meai_{space tag}` holds messages (point id = message id, payload
//! `message_id`, `conversation_id`, `user_id`), `meai_memories_{space tag}` memories (point id =
//! memory id, payload `memory_id`, `user_id`), so message 7 and memory 7 never meet. Payload
//! indexes on `user_id` and `conversation_id` keep the per-user filter every search applies cheap.

use meai_core::memory::{
    VectorError, VectorHit, VectorIndex, VectorItem, VectorKey, VectorPoint, VectorQuery, VectorScope,
};
use meai_core::{ConversationId, MemoryId, MessageId, UserId};
use qdrant_client::qdrant::{
    Condition, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder, Distance, FieldType,
    Filter, PointStruct, QueryPointsBuilder, UpsertPointsBuilder, VectorParamsBuilder,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use std::collections::HashSet;
use std::sync::Mutex;

const PREFIX: &str = "meai_";
/// The prefix of memory collections (which also start with [`PREFIX`]).
const MEMORIES: &str = "meai_memories_";

/// The two kinds of points, each in collections of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Messages,
    Memories,
}

fn kind_of(item: &VectorItem) -> Kind {
    match item {
        VectorItem::Message { .. } => Kind::Messages,
        VectorItem::Memory { .. } => Kind::Memories,
    }
}

fn err(e: QdrantError) -> VectorError {
    match e {
        QdrantError::ResponseError { status } if unreachable(&status) => {
            VectorError::Unavailable(format!("qdrant: {}", status.message()))
        }
        QdrantError::ResponseError { status } => VectorError::Backend(format!("qdrant: {}", status.message())),
        other => VectorError::Unavailable(other.to_string()),
    }
}

/// Transport failures arrive as statuses too: tonic's own, and qdrant-client's `Internal`
/// "Failed to connect to ..." when it cannot open a channel (the server's internal errors read
/// "Service internal error: ...").
fn unreachable(status: &tonic::Status) -> bool {
    use tonic::Code;
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => true,
        Code::Internal => status.message().starts_with("Failed to connect"),
        _ => false,
    }
}

/// A Qdrant server.
pub struct QdrantIndex {
    client: Qdrant,
    /// Collections known to exist (created or seen by this process).
    known: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for QdrantIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantIndex").finish_non_exhaustive()
    }
}

impl QdrantIndex {
    /// Connects to `url` (the gRPC port, e.g. `http://localhost:6334`), with an optional API key.
    pub async fn connect(url: &str, api_key: Option<String>) -> Result<Self, VectorError> {
        let client = Qdrant::from_url(url)
            .api_key(api_key)
            .timeout(std::time::Duration::from_secs(15))
            .connect_timeout(std::time::Duration::from_secs(3))
            // The client's own version check blocks the async runtime and prints to stdout; the
            // health check below reads the version instead.
            .skip_compatibility_check()
            .build()
            .map_err(err)?;
        let health = client.health_check().await.map_err(err)?;
        tracing::info!(server_version = %health.version, "qdrant vector index connected");
        Ok(Self {
            client,
            known: Mutex::new(HashSet::new()),
        })
    }

    fn name(kind: Kind, space: &str) -> String {
        match kind {
            Kind::Messages => format!("{PREFIX}{}", crate::space_tag(space)),
            Kind::Memories => format!("{MEMORIES}{}", crate::space_tag(space)),
        }
    }

    fn is_known(&self, name: &str) -> bool {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).contains(name)
    }

    async fn exists(&self, name: &str) -> Result<bool, VectorError> {
        if self.is_known(name) {
            return Ok(true);
        }
        let exists = self.client.collection_exists(name).await.map_err(err)?;
        if exists {
            self.known
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.to_owned());
        }
        Ok(exists)
    }

    async fn ensure(&self, name: &str, dims: usize) -> Result<(), VectorError> {
        if self.exists(name).await? {
            return Ok(());
        }
        let create =
            CreateCollectionBuilder::new(name).vectors_config(VectorParamsBuilder::new(dims as u64, Distance::Cosine));
        if let Err(e) = self.client.create_collection(create).await {
            // Another instance may have created it first.
            if !self.client.collection_exists(name).await.map_err(err)? {
                return Err(err(e));
            }
        }
        for field in ["user_id", "conversation_id"] {
            let index = CreateFieldIndexCollectionBuilder::new(name, field, FieldType::Integer).wait(true);
            self.client.create_field_index(index).await.map_err(err)?;
        }
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned());
        Ok(())
    }

    /// This adapter's collections, of one kind with `kind`.
    async fn collections(&self, kind: Option<Kind>) -> Result<Vec<String>, VectorError> {
        let list = self.client.list_collections().await.map_err(err)?;
        Ok(list
            .collections
            .into_iter()
            .map(|c| c.name)
            .filter(|n| n.starts_with(PREFIX))
            .filter(|n| match kind {
                None => true,
                Some(Kind::Memories) => n.starts_with(MEMORIES),
                Some(Kind::Messages) => !n.starts_with(MEMORIES),
            })
            .collect())
    }

    async fn delete_by(&self, kind: Option<Kind>, filter: Filter) -> Result<(), VectorError> {
        for name in self.collections(kind).await? {
            let delete = DeletePointsBuilder::new(&name).points(filter.clone()).wait(true);
            self.client.delete_points(delete).await.map_err(err)?;
        }
        Ok(())
    }
}

fn owned_by(user: UserId) -> Condition {
    Condition::matches("user_id", user.0)
}

#[async_trait::async_trait]
impl VectorIndex for QdrantIndex {
    fn kind(&self) -> &'static str {
        "qdrant"
    }

    async fn upsert(&self, space: &str, points: &[VectorPoint]) -> Result<(), VectorError> {
        for kind in [Kind::Messages, Kind::Memories] {
            let mine: Vec<&VectorPoint> = points.iter().filter(|p| kind_of(&p.item) == kind).collect();
            let Some(first) = mine.first() else { continue };
            let name = Self::name(kind, space);
            self.ensure(&name, first.vector.len()).await?;
            let mut structs = Vec::with_capacity(mine.len());
            for p in mine {
                let (id, payload) = match p.item {
                    VectorItem::Message { id, conversation } => (
                        id.0,
                        serde_json::json!({
                            "message_id": id.0,
                            "conversation_id": conversation.0,
                            "user_id": p.user_id.0,
                        }),
                    ),
                    VectorItem::Memory { id } => {
                        (id.0, serde_json::json!({ "memory_id": id.0, "user_id": p.user_id.0 }))
                    }
                };
                let id = u64::try_from(id).map_err(|_| VectorError::Invalid("negative point id".into()))?;
                let payload: Payload = payload
                    .try_into()
                    .map_err(|e: QdrantError| VectorError::Invalid(e.to_string()))?;
                structs.push(PointStruct::new(id, p.vector.clone(), payload));
            }
            self.client
                .upsert_points(UpsertPointsBuilder::new(&name, structs).wait(true))
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    async fn search(&self, space: &str, query: &VectorQuery<'_>) -> Result<Vec<VectorHit>, VectorError> {
        let (kind, conversation) = match query.scope {
            VectorScope::Messages => (Kind::Messages, None),
            VectorScope::Conversation(c) => (Kind::Messages, Some(c)),
            VectorScope::Memories => (Kind::Memories, None),
        };
        let name = Self::name(kind, space);
        if !self.exists(&name).await? {
            return Ok(Vec::new());
        }
        let mut must = vec![owned_by(query.user)];
        if let Some(c) = conversation {
            must.push(Condition::matches("conversation_id", c.0));
        }
        let request = QueryPointsBuilder::new(&name)
            .query(query.vector.to_vec())
            .filter(Filter::must(must))
            .limit(query.k as u64)
            .with_payload(true);
        let found = self.client.query(request).await.map_err(err)?;
        let int = |p: &std::collections::HashMap<String, qdrant_client::qdrant::Value>, key: &str| {
            p.get(key).and_then(|v| v.as_integer()).unwrap_or_default()
        };
        Ok(found
            .result
            .into_iter()
            .map(|p| VectorHit {
                item: match kind {
                    Kind::Messages => VectorItem::Message {
                        id: MessageId(int(&p.payload, "message_id")),
                        conversation: ConversationId(int(&p.payload, "conversation_id")),
                    },
                    Kind::Memories => VectorItem::Memory {
                        id: MemoryId(int(&p.payload, "memory_id")),
                    },
                },
                score: p.score,
            })
            .collect())
    }

    async fn delete(&self, user: UserId, keys: &[VectorKey]) -> Result<(), VectorError> {
        let mut messages = Vec::new();
        let mut memories = Vec::new();
        for key in keys {
            match key {
                VectorKey::Message(m) => messages.push(m.0),
                VectorKey::Memory(m) => memories.push(m.0),
            }
        }
        // By payload, so the user filter applies: another user's ids are never touched.
        if !messages.is_empty() {
            let filter = Filter::must([owned_by(user), Condition::matches("message_id", messages)]);
            self.delete_by(Some(Kind::Messages), filter).await?;
        }
        if !memories.is_empty() {
            let filter = Filter::must([owned_by(user), Condition::matches("memory_id", memories)]);
            self.delete_by(Some(Kind::Memories), filter).await?;
        }
        Ok(())
    }

    async fn delete_conversation(&self, user: UserId, conversation: ConversationId) -> Result<(), VectorError> {
        let filter = Filter::must([owned_by(user), Condition::matches("conversation_id", conversation.0)]);
        self.delete_by(Some(Kind::Messages), filter).await
    }

    async fn delete_user(&self, user: UserId) -> Result<(), VectorError> {
        self.delete_by(None, Filter::must([owned_by(user)])).await
    }

    async fn clear(&self) -> Result<(), VectorError> {
        for name in self.collections(None).await? {
            self.client.delete_collection(&name).await.map_err(err)?;
        }
        self.known.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(())
    }
}

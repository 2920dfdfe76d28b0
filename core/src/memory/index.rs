//! The VectorIndex port: embeddings of messages and of memories, with their ownership,
//! searchable by user.
//!
//! A point is keyed by what it stands for ([`VectorKey`]): message 7 and memory 7 are different
//! points, and every operation names the kind it touches, so one kind's ids never reach the
//! other's.

use crate::{ConversationId, MemoryId, MessageId, UserId};

/// What a vector stands for, with the payload each kind carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VectorItem {
    /// A message of a conversation.
    Message {
        id: MessageId,
        conversation: ConversationId,
    },
    /// A memory (a durable fact about the person); it belongs to no conversation.
    Memory { id: MemoryId },
}

impl VectorItem {
    pub fn key(&self) -> VectorKey {
        match *self {
            Self::Message { id, .. } => VectorKey::Message(id),
            Self::Memory { id } => VectorKey::Memory(id),
        }
    }
}

/// A point's identity: its kind and its id within that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VectorKey {
    Message(MessageId),
    Memory(MemoryId),
}

/// One embedding and the payload every adapter stores with it.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    pub item: VectorItem,
    pub user_id: UserId,
    pub vector: Vec<f32>,
}

/// Which of the user's points a search compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorScope {
    /// Messages of every conversation.
    Messages,
    /// Messages of one conversation.
    Conversation(ConversationId),
    /// Memories.
    Memories,
}

/// A search: whose vectors, which of them, and how many at most.
#[derive(Debug, Clone, Copy)]
pub struct VectorQuery<'a> {
    pub user: UserId,
    pub scope: VectorScope,
    pub vector: &'a [f32],
    pub k: usize,
}

/// A search result. `score` is the cosine similarity (1 = same direction), whatever the
/// adapter's native distance is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VectorHit {
    pub item: VectorItem,
    pub score: f32,
}

impl VectorHit {
    /// The message this hit stands for, if it is a message.
    pub fn message(&self) -> Option<(MessageId, ConversationId)> {
        match self.item {
            VectorItem::Message { id, conversation } => Some((id, conversation)),
            VectorItem::Memory { .. } => None,
        }
    }

    /// The memory this hit stands for, if it is a memory.
    pub fn memory(&self) -> Option<MemoryId> {
        match self.item {
            VectorItem::Memory { id } => Some(id),
            VectorItem::Message { .. } => None,
        }
    }
}

/// What any VectorIndex adapter may report. Messages never contain credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VectorError {
    /// The index server (or database) could not be reached or timed out.
    #[error("vector index unavailable: {0}")]
    Unavailable(String),
    /// The request cannot succeed as it is (dimension mismatch, empty vector, ...).
    #[error("invalid vector request: {0}")]
    Invalid(String),
    /// The index answered with an error.
    #[error("vector index failed: {0}")]
    Backend(String),
}

/// Where embeddings live and are searched by meaning.
///
/// Vectors are kept per *space*: the embedding model id with its dimensions (see
/// [`super::space_of`]). A search only compares vectors of its own space, so vectors written by
/// another model are ignored until `meai reindex` rewrites them. Every search is filtered by
/// user: no adapter may ever return another user's points, and no search returns points of
/// another kind than its scope names.
#[async_trait::async_trait]
pub trait VectorIndex: Send + Sync + 'static {
    /// The adapter's name for logs (`local`, `chroma`, `qdrant`, ...).
    fn kind(&self) -> &'static str;

    /// Inserts or replaces the points (keyed by [`VectorKey`]): writing one again is idempotent,
    /// and writing it with a new vector replaces the old one.
    async fn upsert(&self, space: &str, points: &[VectorPoint]) -> Result<(), VectorError>;

    /// The `k` points of the space and scope most similar to `query.vector`, best first.
    async fn search(&self, space: &str, query: &VectorQuery<'_>) -> Result<Vec<VectorHit>, VectorError>;

    /// Removes these points of the user (in every space). Unknown keys are ignored.
    async fn delete(&self, user: UserId, keys: &[VectorKey]) -> Result<(), VectorError>;

    /// Removes every message point of the conversation (in every space); memories stay.
    async fn delete_conversation(&self, user: UserId, conversation: ConversationId) -> Result<(), VectorError>;

    /// Removes every point of the user, of every kind and space (the account is deleted).
    async fn delete_user(&self, user: UserId) -> Result<(), VectorError>;

    /// Removes every point of every user and space: `meai reindex` starts from empty.
    async fn clear(&self) -> Result<(), VectorError>;
}

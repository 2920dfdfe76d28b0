//! The VectorIndex port: message embeddings with their ownership, searchable by user.

use crate::{ConversationId, MessageId, UserId};

/// One message's embedding and the payload every adapter stores with it.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub vector: Vec<f32>,
}

/// A search: whose vectors, optionally one conversation only, and how many at most.
#[derive(Debug, Clone, Copy)]
pub struct VectorQuery<'a> {
    pub user: UserId,
    pub conversation: Option<ConversationId>,
    pub vector: &'a [f32],
    pub k: usize,
}

/// A search result. `score` is the cosine similarity (1 = same direction), whatever the
/// adapter's native distance is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VectorHit {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub score: f32,
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

/// Where message embeddings live and are searched by meaning.
///
/// Vectors are kept per *space*: the embedding model id with its dimensions (see
/// [`super::space_of`]). A search only compares vectors of its own space, so vectors written by
/// another model are ignored until `meai reindex` rewrites them. Every search is filtered by
/// user: no adapter may ever return another user's points.
#[async_trait::async_trait]
pub trait VectorIndex: Send + Sync + 'static {
    /// The adapter's name for logs (`local`, `chroma`, `qdrant`, ...).
    fn kind(&self) -> &'static str;

    /// Inserts or replaces the points (keyed by message id): writing a message again is
    /// idempotent.
    async fn upsert(&self, space: &str, points: &[VectorPoint]) -> Result<(), VectorError>;

    /// The `k` points of the space most similar to `query.vector`, best first.
    async fn search(&self, space: &str, query: &VectorQuery<'_>) -> Result<Vec<VectorHit>, VectorError>;

    /// Removes these messages' points (in every space). Unknown ids are ignored.
    async fn delete_messages(&self, user: UserId, ids: &[MessageId]) -> Result<(), VectorError>;

    /// Removes every point of the conversation (in every space).
    async fn delete_conversation(&self, user: UserId, conversation: ConversationId) -> Result<(), VectorError>;

    /// Removes every point of every user and space: `meai reindex` starts from empty.
    async fn clear(&self) -> Result<(), VectorError>;
}

//! The memory use case: index messages, recall the relevant ones for a turn, search them.

use super::rank;
use super::{
    FoundMessage, MemoryStats, MessageSource, VectorError, VectorIndex, VectorItem, VectorKey, VectorPoint,
    VectorQuery, VectorScope, space_of,
};
use crate::model::{Embedder, ModelError};
use crate::{ConversationId, Message, MessageId, MessageKind, Store, StoreError, UserId};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Tunables of recall and search.
#[derive(Debug, Clone)]
pub struct MemorySettings {
    /// Recalled messages must be at least this similar (cosine) to the new message.
    pub min_similarity: f32,
    /// Recall from the user's other conversations too, not only the current one.
    pub cross_conversation: bool,
    /// The latest messages of the conversation the turn already shows the model: not recalled.
    pub recent_window: u64,
    /// A recalled message is cut to this many characters (context stays bounded).
    pub max_recalled_chars: usize,
    /// Memories one person may have at most (extraction stops there; adding one is refused).
    pub max_memories: u64,
    /// Memories recalled into a turn at most.
    pub recalled_memories: usize,
}

impl Default for MemorySettings {
    fn default() -> Self {
        Self {
            min_similarity: 0.3,
            cross_conversation: true,
            recent_window: 20,
            max_recalled_chars: 1_000,
            max_memories: 1_000,
            recalled_memories: 5,
        }
    }
}

/// Why a memory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("embedding failed: {0}")]
    Embedding(#[from] ModelError),
    #[error(transparent)]
    Index(#[from] VectorError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

impl MemoryError {
    /// A store error, with `NotFound` and `Conflict` kept apart for the edge.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Store(StoreError::NotFound))
    }
}

/// A search result: the message, its conversation's title, and how it ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub found: FoundMessage,
    /// The hybrid score in [0, 1], by which results are ordered.
    pub score: f32,
    /// Share of the query's words the message contains.
    pub keyword: f32,
    /// Cosine similarity to the query, when the vector search returned the message.
    pub similarity: Option<f32>,
}

/// Longest text sent to the embedder (providers cap inputs at a few thousand tokens).
const MAX_EMBED_CHARS: usize = 8_000;
/// Query embeddings kept so the human message is embedded once, for recall and for indexing.
const QUERY_CACHE: usize = 256;

/// The memory of every user: an [`Embedder`], a [`VectorIndex`] and the messages behind them.
/// Cheap to clone.
#[derive(Clone)]
pub struct Memory {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) embedder: Arc<dyn Embedder>,
    pub(super) index: Arc<dyn VectorIndex>,
    source: Arc<dyn MessageSource>,
    pub(super) store: Arc<dyn Store>,
    pub(super) settings: MemorySettings,
    pub(super) stats: MemoryStats,
    embedded: Mutex<HashMap<String, Vec<f32>>>,
}

/// Whether a message is worth remembering: what people and the assistant said, not tool dumps.
fn indexable(m: &Message) -> bool {
    matches!(m.kind, MessageKind::Human | MessageKind::Ai) && !m.content.trim().is_empty()
}

pub(super) fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

impl Memory {
    pub fn new(
        embedder: Arc<dyn Embedder>,
        index: Arc<dyn VectorIndex>,
        source: Arc<dyn MessageSource>,
        store: Arc<dyn Store>,
        settings: MemorySettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                embedder,
                index,
                source,
                store,
                settings,
                stats: MemoryStats::default(),
                embedded: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn stats(&self) -> &MemoryStats {
        &self.inner.stats
    }

    pub fn index_kind(&self) -> &'static str {
        self.inner.index.kind()
    }

    pub fn embedder_id(&self) -> &str {
        self.inner.embedder.model_id()
    }

    /// Embeds the texts, reusing the vectors of recently embedded queries.
    pub(super) async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let texts: Vec<String> = texts.iter().map(|t| bounded(t, MAX_EMBED_CHARS)).collect();
        let mut out: Vec<Option<Vec<f32>>> = {
            let cache = self.inner.embedded.lock().unwrap_or_else(|p| p.into_inner());
            texts.iter().map(|t| cache.get(t).cloned()).collect()
        };
        let missing: Vec<String> = texts
            .iter()
            .zip(&out)
            .filter(|(_, v)| v.is_none())
            .map(|(t, _)| t.clone())
            .collect();
        if !missing.is_empty() {
            let mut fresh = self.inner.embedder.embed(&missing).await?.into_iter();
            for slot in out.iter_mut().filter(|v| v.is_none()) {
                *slot = fresh.next();
            }
        }
        out.into_iter()
            .map(|v| {
                v.ok_or_else(|| ModelError::Upstream {
                    status: None,
                    message: "missing embedding".into(),
                })
            })
            .collect()
    }

    pub(super) async fn embed_query(&self, text: &str) -> Result<Vec<f32>, ModelError> {
        let text = bounded(text, MAX_EMBED_CHARS);
        let vector = self.embed(std::slice::from_ref(&text)).await?.remove(0);
        let mut cache = self.inner.embedded.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= QUERY_CACHE {
            cache.clear();
        }
        cache.insert(text, vector.clone());
        Ok(vector)
    }

    /// Embeds and stores the messages worth remembering; returns how many were indexed.
    pub async fn index(&self, messages: &[Message]) -> Result<usize, MemoryError> {
        let wanted: Vec<&Message> = messages.iter().filter(|m| indexable(m)).collect();
        if wanted.is_empty() {
            return Ok(0);
        }
        let texts: Vec<String> = wanted.iter().map(|m| m.content.clone()).collect();
        let vectors = self.embed(&texts).await?;
        let mut by_space: HashMap<String, Vec<VectorPoint>> = HashMap::new();
        for (m, vector) in wanted.iter().zip(vectors) {
            let space = space_of(self.inner.embedder.model_id(), vector.len());
            by_space.entry(space).or_default().push(VectorPoint {
                item: VectorItem::Message {
                    id: m.id,
                    conversation: m.conversation_id,
                },
                user_id: m.user_id,
                vector,
            });
        }
        for (space, points) in &by_space {
            self.inner.index.upsert(space, points).await?;
        }
        Ok(wanted.len())
    }

    /// [`Memory::index`], with failures logged and counted instead of returned (background use).
    pub async fn index_logged(&self, messages: &[Message]) {
        match self.index(messages).await {
            Ok(n) => {
                self.inner.stats.indexed(n);
                tracing::debug!(indexed = n, index = self.index_kind(), "messages indexed");
            }
            Err(error) => {
                self.inner.stats.index_failed(messages.len());
                tracing::warn!(%error, messages = messages.len(), index = self.index_kind(),
                    "could not index messages (recall misses them until `meai reindex`)");
            }
        }
    }

    /// Earlier messages of the user similar to `vector` (the new message's), best first, above
    /// the similarity threshold, leaving out the conversation's latest messages (the turn shows
    /// them anyway).
    pub(super) async fn recall_messages(
        &self,
        user: UserId,
        conversation: ConversationId,
        vector: &[f32],
        limit: usize,
    ) -> Result<Vec<Message>, MemoryError> {
        let s = &self.inner.settings;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let space = space_of(self.inner.embedder.model_id(), vector.len());
        let k = limit + s.recent_window as usize;
        let scope = match s.cross_conversation {
            true => VectorScope::Messages,
            false => VectorScope::Conversation(conversation),
        };
        let query = VectorQuery { user, scope, vector, k };
        let mut hits: Vec<(MessageId, ConversationId, f32)> = self
            .inner
            .index
            .search(&space, &query)
            .await?
            .iter()
            .filter_map(|h| h.message().map(|(id, c)| (id, c, h.score)))
            .collect();
        hits.retain(|h| h.2 >= s.min_similarity);
        if hits.iter().any(|h| h.1 == conversation) {
            // Of this conversation, only the branch shown, before its latest messages: other
            // branches are answers the person set aside.
            let branch = self.inner.store.message_tree(user, conversation).await?.branch();
            let recent = usize::try_from(s.recent_window).unwrap_or(usize::MAX);
            let earlier: HashSet<MessageId> = branch[..branch.len().saturating_sub(recent)].iter().copied().collect();
            hits.retain(|h| h.1 != conversation || earlier.contains(&h.0));
        }
        hits.truncate(limit);
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<MessageId> = hits.iter().map(|h| h.0).collect();
        let mut found: HashMap<MessageId, Message> = self
            .inner
            .source
            .messages_by_ids(user, &ids)
            .await?
            .into_iter()
            .map(|f| (f.message.id, f.message))
            .collect();
        // In score order; a hit whose message is gone (deleted meanwhile) is skipped.
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id))
            .map(|mut m| {
                m.content = bounded(&m.content, s.max_recalled_chars);
                m
            })
            .collect())
    }

    /// The user's messages matching `query`, by hybrid rank: keyword matches and vector
    /// similarity combined ([`rank::hybrid`]). When the embedder or the index is down, search
    /// falls back to keywords alone (logged).
    pub async fn search(&self, user: UserId, query: &str, limit: usize) -> Result<Vec<SearchHit>, MemoryError> {
        let query = query.trim();
        if query.is_empty() {
            return Err(MemoryError::Invalid("the search query is empty".into()));
        }
        let terms = rank::terms(query);
        let candidates = (limit * 3).clamp(20, 200);
        let similar = match self.similar(user, query, candidates).await {
            Ok(hits) => hits,
            Err(error) => {
                tracing::warn!(%error, "vector search unavailable, searching by keywords only");
                HashMap::new()
            }
        };
        let mut found: HashMap<MessageId, FoundMessage> = if terms.is_empty() {
            HashMap::new()
        } else {
            self.inner
                .source
                .messages_matching(user, &terms, candidates)
                .await?
                .into_iter()
                .map(|f| (f.message.id, f))
                .collect()
        };
        let unseen: Vec<MessageId> = similar.keys().filter(|id| !found.contains_key(id)).copied().collect();
        if !unseen.is_empty() {
            found.extend(
                self.inner
                    .source
                    .messages_by_ids(user, &unseen)
                    .await?
                    .into_iter()
                    .map(|f| (f.message.id, f)),
            );
        }
        let min = self.inner.settings.min_similarity;
        let mut hits: Vec<SearchHit> = found
            .into_values()
            .filter_map(|f| {
                let keyword = rank::keyword_score(&f.message.content, &terms, query);
                let similarity = similar.get(&f.message.id).copied();
                if keyword == 0.0 && similarity.is_none_or(|s| s < min) {
                    return None;
                }
                Some(SearchHit {
                    score: rank::hybrid(keyword, similarity),
                    keyword,
                    similarity,
                    found: f,
                })
            })
            .collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.found.message.id.cmp(&a.found.message.id))
        });
        hits.truncate(limit);
        Ok(hits)
    }

    async fn similar(&self, user: UserId, query: &str, k: usize) -> Result<HashMap<MessageId, f32>, MemoryError> {
        let vector = self.embed_query(query).await?;
        let space = space_of(self.inner.embedder.model_id(), vector.len());
        let hits = self
            .inner
            .index
            .search(
                &space,
                &VectorQuery {
                    user,
                    scope: VectorScope::Messages,
                    vector: &vector,
                    k,
                },
            )
            .await?;
        Ok(hits
            .into_iter()
            .filter_map(|h| h.message().map(|(id, _)| (id, h.score)))
            .collect())
    }

    /// Forgets a deleted conversation's vectors (adapters that share the database already did,
    /// in the delete's transaction; this reaches index servers).
    pub async fn forget_conversation(&self, user: UserId, conversation: ConversationId) {
        if let Err(error) = self.inner.index.delete_conversation(user, conversation).await {
            tracing::warn!(%error, "could not delete the conversation's vectors");
        }
    }

    /// Forgets the vectors of deleted messages.
    pub async fn forget_messages(&self, user: UserId, messages: &[MessageId]) {
        let keys: Vec<VectorKey> = messages.iter().map(|m| VectorKey::Message(*m)).collect();
        if keys.is_empty() {
            return;
        }
        if let Err(error) = self.inner.index.delete(user, &keys).await {
            tracing::warn!(%error, messages = keys.len(), "could not delete the messages' vectors");
        }
    }

    /// Rebuilds the index from the database: clears it, then embeds every message and every
    /// memory again in batches of `batch`. Returns how many points were indexed.
    pub async fn reindex(&self, batch: usize) -> Result<usize, MemoryError> {
        self.inner.index.clear().await?;
        let mut after = None;
        let mut total = 0;
        loop {
            let messages = self.inner.source.messages_after(after, batch.max(1)).await?;
            let Some(last) = messages.last() else { break };
            after = Some(last.id);
            total += self.index(&messages).await?;
            tracing::info!(indexed = total, "reindexing messages");
        }
        let mut after = None;
        loop {
            let memories = self.inner.store.memories_after(after, batch.max(1) as u64).await?;
            let Some(last) = memories.last() else { break };
            after = Some(last.id);
            total += self.index_memories(&memories).await?;
            tracing::info!(indexed = total, "reindexing memories");
        }
        Ok(total)
    }

    pub(super) fn count_recall(&self, ok: bool) {
        self.inner.stats.recall(ok);
    }

    pub(super) fn count_dropped(&self, n: usize) {
        self.inner.stats.dropped(n);
    }
}

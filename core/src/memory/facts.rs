//! Memories on [`Memory`]: durable facts about the person that they can see and correct,
//! embedded beside the messages and recalled into turns.
//!
//! The store is the truth: recall searches the index, then reads the hits back from the store,
//! so a memory deleted or edited a moment ago is never recalled as it was, even by an index
//! that has not caught up (or is down).

use super::service::bounded;
use super::{Memory, MemoryError, VectorItem, VectorKey, VectorPoint, VectorQuery, VectorScope, space_of};
use crate::store::Remembered;
use crate::{
    ConversationId, MemoryFact, MemoryId, MemoryOrigin, MemorySource, MemorySwitch, MemoryText, MemoryTextError,
    Message, NewMemory, Page, UserId,
};
use std::collections::HashMap;

/// What a turn recalls: memories about the person and earlier messages, each best first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recalled {
    pub memories: Vec<MemoryFact>,
    pub messages: Vec<Message>,
    /// How long the query's embedding and the searches took (absent when recall did not run).
    pub timing: Option<RecallTiming>,
}

/// Recall's two stages before a turn's first token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecallTiming {
    pub embedding: std::time::Duration,
    pub search: std::time::Duration,
}

/// A page of the person's memories and the state of their memory.
#[derive(Debug, Clone)]
pub struct MemoryList {
    pub memories: Vec<MemoryFact>,
    /// How many memories the person has in all.
    pub total: u64,
    /// How many they may have.
    pub max: u64,
    pub switch: MemorySwitch,
}

fn invalid(e: MemoryTextError) -> MemoryError {
    MemoryError::Invalid(e.to_string())
}

impl Memory {
    pub fn max_memories(&self) -> u64 {
        self.inner.settings.max_memories
    }

    pub async fn list_memories(&self, user: UserId, page: Page<MemoryId>) -> Result<MemoryList, MemoryError> {
        let store = &self.inner.store;
        let (memories, total, switch) = futures::try_join!(
            store.list_memories(user, page),
            store.count_memories(user),
            store.memory_switch(user)
        )?;
        Ok(MemoryList {
            memories,
            total,
            max: self.max_memories(),
            switch,
        })
    }

    pub async fn switch(&self, user: UserId) -> Result<MemorySwitch, MemoryError> {
        Ok(self.inner.store.memory_switch(user).await?)
    }

    /// Turns the person's memory on or off. Off: nothing is extracted from their messages and
    /// nothing (neither memories nor earlier messages) is recalled into their turns.
    pub async fn set_switch(&self, user: UserId, enabled: bool) -> Result<MemorySwitch, MemoryError> {
        let switch = self.inner.store.set_memory_switch(user, enabled).await?;
        tracing::info!(user_id = %user, enabled, "memory switched");
        Ok(switch)
    }

    /// Adds a memory the person wrote (or an import brought); a duplicate of one they have is
    /// reported, not added twice.
    pub async fn add_memory(
        &self,
        user: UserId,
        text: &str,
        origin: MemoryOrigin,
        source: Option<MemorySource>,
    ) -> Result<Remembered, MemoryError> {
        let content = MemoryText::parse(text).map_err(invalid)?;
        let memory = NewMemory {
            content,
            origin,
            source,
        };
        let added = self.inner.store.add_memory(user, &memory, self.max_memories()).await?;
        if let Remembered::New(fact) = &added {
            self.index_memories_logged(std::slice::from_ref(fact)).await;
        }
        Ok(added)
    }

    /// Corrects a memory. Recall sees the new text at once (it reads memories from the store);
    /// its vector is replaced, or dropped when the new one cannot be made now.
    pub async fn edit_memory(&self, user: UserId, id: MemoryId, text: &str) -> Result<MemoryFact, MemoryError> {
        let content = MemoryText::parse(text).map_err(invalid)?;
        let fact = self.inner.store.edit_memory(user, id, &content).await?;
        if let Err(error) = self.index_memories(std::slice::from_ref(&fact)).await {
            tracing::warn!(%error, "could not re-embed an edited memory; dropping its old vector");
            self.forget_vectors(user, &[VectorKey::Memory(id)]).await;
        }
        Ok(fact)
    }

    /// Deletes a memory: gone from the store at once (so from recall), then from the index.
    pub async fn delete_memory(&self, user: UserId, id: MemoryId) -> Result<(), MemoryError> {
        self.inner.store.delete_memory(user, id).await?;
        self.forget_vectors(user, &[VectorKey::Memory(id)]).await;
        Ok(())
    }

    async fn forget_vectors(&self, user: UserId, keys: &[VectorKey]) {
        if let Err(error) = self.inner.index.delete(user, keys).await {
            // Recall reads memories back from the store, so a stale vector is never recalled.
            tracing::warn!(%error, "could not delete vectors (they are ignored, and gone after `meai reindex`)");
        }
    }

    /// Embeds and stores the memories' vectors; returns how many were indexed.
    pub(super) async fn index_memories(&self, facts: &[MemoryFact]) -> Result<usize, MemoryError> {
        if facts.is_empty() {
            return Ok(0);
        }
        let texts: Vec<String> = facts.iter().map(|f| f.content.as_str().to_owned()).collect();
        let vectors = self.embed(&texts).await?;
        let mut by_space: HashMap<String, Vec<VectorPoint>> = HashMap::new();
        for (fact, vector) in facts.iter().zip(vectors) {
            let space = space_of(self.inner.embedder.model_id(), vector.len());
            by_space.entry(space).or_default().push(VectorPoint {
                item: VectorItem::Memory { id: fact.id },
                user_id: fact.user_id,
                vector,
            });
        }
        for (space, points) in &by_space {
            self.inner.index.upsert(space, points).await?;
        }
        Ok(facts.len())
    }

    pub(super) async fn index_memories_logged(&self, facts: &[MemoryFact]) {
        match self.index_memories(facts).await {
            Ok(n) => self.inner.stats.indexed(n),
            Err(error) => {
                self.inner.stats.index_failed(facts.len());
                tracing::warn!(%error, memories = facts.len(), "could not index memories (recall misses them until `meai reindex`)");
            }
        }
    }

    /// What a turn recalls for `query` (the new message): the person's memories and earlier
    /// messages similar to it, the query embedded once. Nothing when their memory is off.
    pub async fn recall(
        &self,
        user: UserId,
        conversation: ConversationId,
        query: &str,
        limit: usize,
    ) -> Result<Recalled, MemoryError> {
        if query.trim().is_empty() || !self.inner.store.memory_switch(user).await?.enabled {
            return Ok(Recalled::default());
        }
        let (vector, embedding) = crate::turn::timed(self.embed_query(query)).await;
        let vector = vector?;
        let (found, search) = crate::turn::timed(async {
            futures::try_join!(
                self.recall_memories(user, &vector, self.inner.settings.recalled_memories),
                self.recall_messages(user, conversation, &vector, limit)
            )
        })
        .await;
        let (memories, messages) = found?;
        Ok(Recalled {
            memories,
            messages,
            timing: Some(RecallTiming { embedding, search }),
        })
    }

    async fn recall_memories(
        &self,
        user: UserId,
        vector: &[f32],
        limit: usize,
    ) -> Result<Vec<MemoryFact>, MemoryError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let space = space_of(self.inner.embedder.model_id(), vector.len());
        let query = VectorQuery {
            user,
            scope: VectorScope::Memories,
            vector,
            k: limit,
        };
        let min = self.inner.settings.min_similarity;
        let ids: Vec<MemoryId> = self
            .inner
            .index
            .search(&space, &query)
            .await?
            .iter()
            .filter(|h| h.score >= min)
            .filter_map(|h| h.memory())
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: HashMap<MemoryId, MemoryFact> = self
            .inner
            .store
            .memories_by_ids(user, &ids)
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// The human messages among `recent` to extract memories from: none when the person's
    /// memory is off; never one extracted before, nor one written before memory was turned on.
    pub async fn to_extract(&self, user: UserId, recent: &[Message]) -> Result<Vec<Message>, MemoryError> {
        let switch = self.inner.store.memory_switch(user).await?;
        if !switch.enabled {
            return Ok(Vec::new());
        }
        let candidates: Vec<&Message> = recent
            .iter()
            .filter(|m| m.kind == crate::MessageKind::Human && !m.content.trim().is_empty())
            .filter(|m| switch.changed_at.is_none_or(|at| m.created_at >= at))
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<_> = candidates.iter().map(|m| m.id).collect();
        let open = self.inner.store.unextracted(user, &ids).await?;
        Ok(candidates
            .into_iter()
            .filter(|m| open.contains(&m.id))
            .map(|m| {
                let mut m = m.clone();
                m.content = bounded(&m.content, MAX_SOURCE_CHARS);
                m
            })
            .collect())
    }

    /// Stores what the model extracted from `sources` (which are all marked extracted, also
    /// those that gave nothing) and indexes the new memories. Returns them.
    pub async fn record_extraction(
        &self,
        user: UserId,
        sources: &[Message],
        extracted: &[(crate::MessageId, String)],
    ) -> Result<Vec<MemoryFact>, MemoryError> {
        let by_id: HashMap<_, _> = sources.iter().map(|m| (m.id, m)).collect();
        let memories: Vec<NewMemory> = extracted
            .iter()
            .filter_map(|(from, text)| {
                let source = by_id.get(from)?;
                let content = MemoryText::parse(text).ok()?;
                Some(NewMemory {
                    content,
                    origin: MemoryOrigin::Extracted,
                    source: Some(MemorySource {
                        message_id: source.id,
                        conversation_id: source.conversation_id,
                    }),
                })
            })
            .collect();
        let ids: Vec<_> = sources.iter().map(|m| m.id).collect();
        let added = self
            .inner
            .store
            .record_extraction(user, &ids, &memories, self.max_memories())
            .await?;
        tracing::info!(user_id = %user, sources = ids.len(), extracted = extracted.len(), added = added.len(), "memories extracted");
        self.index_memories_logged(&added).await;
        Ok(added)
    }
}

/// A human message is shown to the extraction at most this long (bounds its cost).
pub const MAX_SOURCE_CHARS: usize = 2_000;

#[async_trait::async_trait]
impl crate::turn::MemoryKeeper for Memory {
    async fn to_extract(&self, user: UserId, recent: &[Message]) -> Vec<Message> {
        Memory::to_extract(self, user, recent).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "could not read what to extract memories from");
            Vec::new()
        })
    }

    async fn extracted(&self, user: UserId, sources: &[Message], memories: &[(crate::MessageId, String)]) {
        if let Err(error) = self.record_extraction(user, sources, memories).await {
            tracing::warn!(%error, "could not store extracted memories (the messages are offered again)");
        }
    }
}

//! Wiring of memory: the embedder (the model provider's, or the offline **lexical** one), the
//! vector index chosen by `VECTOR_STORE`, the background indexing worker, and a deadline on
//! recall so a slow index never holds up the first token.

use crate::config::{Config, ConfigError, EmbedderKind, VectorStoreKind};
use crate::startup::StartError;
use meai_core::memory::Recalled;
use meai_core::memory::{Memory, MemoryRecall, MemorySettings, VectorIndex};
use meai_core::model::Embedder;
use meai_core::turn::{Recall, RecallError};
use meai_core::{ConversationId, Message, UserId};
use meai_llm::{GenaiEmbedder, LexicalEmbedder, LlmConfigError};
use meai_sql::{SqlStore, SqlVectorIndex};
use std::sync::Arc;
use std::time::Duration;

/// Messages waiting for indexing at most; beyond, new ones are dropped (counted, logged).
const QUEUE: usize = 10_000;
/// Recall gets this long (embedding the message + searching) before the turn goes on without it.
const DEFAULT_RECALL_TIMEOUT_MS: u64 = 1_500;

/// The embedder: `EMBEDDER=lexical` forces the offline one; otherwise the configured model
/// provider's embedding model, and the lexical one when no provider is configured.
pub fn embedder(config: &Config) -> Result<Arc<dyn Embedder>, ConfigError> {
    let lexical = || {
        let e = LexicalEmbedder::new(
            config
                .embedding_dimensions
                .unwrap_or(meai_llm::DEFAULT_LEXICAL_DIMENSIONS),
        );
        tracing::warn!(
            model = e.model_id(),
            "memory uses the LEXICAL embedder (offline, word-overlap, not semantic): set a model provider key for semantic recall"
        );
        Arc::new(e) as Arc<dyn Embedder>
    };
    if config.embedder == EmbedderKind::Lexical {
        return Ok(lexical());
    }
    let Some(mut llm) = crate::turns::llm_config(config)? else {
        return Ok(lexical());
    };
    if let Some(d) = config.embedding_dimensions {
        llm = llm.with_embedding_dimensions(d);
    }
    let e = match GenaiEmbedder::new(&llm) {
        Ok(e) => e,
        Err(LlmConfigError::NoEmbeddings(provider)) => {
            tracing::info!(%provider, "the model provider has no embeddings API");
            return Ok(lexical());
        }
        Err(e) => return Err(ConfigError::new(format!("embedder: {e}"))),
    };
    tracing::info!(model = e.model_id(), "memory uses the provider's embedding model");
    Ok(Arc::new(e))
}

/// The index `VECTOR_STORE` names (`local` by default).
pub async fn index(config: &Config, sql: &SqlStore) -> Result<Arc<dyn VectorIndex>, StartError> {
    match config.vector_store {
        VectorStoreKind::Local => Ok(Arc::new(SqlVectorIndex::new(sql))),
        VectorStoreKind::Chroma => chroma(config).await,
        VectorStoreKind::Qdrant => qdrant(config).await,
    }
}

#[cfg(feature = "chroma")]
async fn chroma(config: &Config) -> Result<Arc<dyn VectorIndex>, StartError> {
    let host = config.chroma_host.as_deref().unwrap_or("localhost");
    let port = config.chroma_port.unwrap_or(8000);
    let base = if host.starts_with("http://") || host.starts_with("https://") {
        format!("{host}:{port}")
    } else {
        format!("http://{host}:{port}")
    };
    let tenant = config.chroma_tenant.as_deref().unwrap_or("default_tenant");
    let database = config.chroma_database.as_deref().unwrap_or("default_database");
    let index = meai_vector::ChromaIndex::connect(&base, tenant, database)
        .await
        .map_err(|e| StartError::Other(format!("chroma at {host}:{port}: {e}")))?;
    Ok(Arc::new(index))
}

#[cfg(not(feature = "chroma"))]
async fn chroma(_config: &Config) -> Result<Arc<dyn VectorIndex>, StartError> {
    Err(ConfigError::new("VECTOR_STORE=chroma needs a build with the `chroma` cargo feature").into())
}

#[cfg(feature = "qdrant")]
async fn qdrant(config: &Config) -> Result<Arc<dyn VectorIndex>, StartError> {
    let url = config
        .qdrant_url
        .as_deref()
        .ok_or_else(|| ConfigError::new("VECTOR_STORE=qdrant needs QDRANT_URL"))?;
    let key = config.qdrant_api_key.as_ref().map(|k| k.expose().to_owned());
    let index = meai_vector::QdrantIndex::connect(url, key)
        .await
        .map_err(|e| StartError::Other(format!("qdrant: {e}")))?;
    Ok(Arc::new(index))
}

#[cfg(not(feature = "qdrant"))]
async fn qdrant(_config: &Config) -> Result<Arc<dyn VectorIndex>, StartError> {
    Err(ConfigError::new("VECTOR_STORE=qdrant needs a build with the `qdrant` cargo feature").into())
}

pub fn settings(config: &Config) -> MemorySettings {
    let mut s = MemorySettings::default();
    if let Some(min) = config.memory_min_score {
        s.min_similarity = min;
    }
    if let Some(cross) = config.memory_cross_conversation {
        s.cross_conversation = cross;
    }
    s.max_memories = config.memory_max_per_user;
    s
}

/// The turn's recall seam over `memory`, with its indexing worker spawned.
pub fn recall(config: &Config, memory: &Memory) -> Arc<dyn Recall> {
    let (queue, worker) = memory.indexer(QUEUE);
    tokio::spawn(worker);
    let timeout = Duration::from_millis(config.memory_recall_timeout_ms.unwrap_or(DEFAULT_RECALL_TIMEOUT_MS));
    Arc::new(Deadline {
        inner: MemoryRecall::new(memory.clone(), queue),
        timeout,
    })
}

/// Recall with a deadline: past it the turn answers without recalled messages.
struct Deadline {
    inner: MemoryRecall,
    timeout: Duration,
}

#[async_trait::async_trait]
impl Recall for Deadline {
    async fn recall(
        &self,
        user: UserId,
        conversation: ConversationId,
        query: &str,
        limit: usize,
    ) -> Result<Recalled, RecallError> {
        match tokio::time::timeout(self.timeout, self.inner.recall(user, conversation, query, limit)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(RecallError::TimedOut(self.timeout)),
        }
    }

    async fn remember(&self, user: UserId, messages: &[Message]) {
        self.inner.remember(user, messages).await;
    }
}

//! Memory: messages and memories (durable facts about the person) embedded and recalled by
//! meaning.
//!
//! Ports: [`VectorIndex`] (where embeddings live: the SQL database itself, Chroma or Qdrant)
//! and [`MessageSource`] (messages by id, by keyword, and all of them for reindexing); the
//! [`crate::model::Embedder`] port makes the vectors. The [`Memory`] use case indexes messages,
//! recalls the relevant ones for a turn ([`MemoryRecall`] implements the turn's
//! [`crate::turn::Recall`] seam, with indexing queued off the hot path) and runs hybrid search.

mod facts;
mod index;
mod queue;
pub mod rank;
mod service;
mod source;
mod stats;

#[cfg(feature = "contract")]
pub mod contract;

pub use facts::{MAX_SOURCE_CHARS, MemoryList, RecallTiming, Recalled};
pub use index::{VectorError, VectorHit, VectorIndex, VectorItem, VectorKey, VectorPoint, VectorQuery, VectorScope};
pub use queue::{IndexQueue, MemoryRecall};
pub use service::{Memory, MemoryError, MemorySettings, SearchHit};
pub use source::{FoundMessage, MessageSource};
pub use stats::{MemoryCounts, MemoryStats};

/// The vector space of an embedder: its model id and the vectors' dimensions. Vectors of
/// different spaces are never compared.
pub fn space_of(model_id: &str, dimensions: usize) -> String {
    format!("{model_id}#{dimensions}")
}

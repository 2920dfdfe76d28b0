//! Vector index servers for meAI's memory, each behind its cargo feature and each implementing
//! the [`meai_core::memory::VectorIndex`] port (one contract suite for all):
//!
//! - `chroma`: a Chroma server over its v2 HTTP API ([`ChromaIndex`]), one collection per user
//!   and embedding space, so a user's recall never filters a big shared collection;
//! - `qdrant`: a Qdrant server over gRPC ([`QdrantIndex`]), one collection per embedding space
//!   with payload indexes on `user_id` and `conversation_id`.
//!
//! The default `local` index lives in `meai-sql` (vectors beside the messages).

#[cfg(feature = "chroma")]
mod chroma;
#[cfg(feature = "qdrant")]
mod qdrant;

#[cfg(feature = "chroma")]
pub use chroma::ChromaIndex;
#[cfg(feature = "qdrant")]
pub use qdrant::QdrantIndex;

/// A short, stable, name-safe tag for an embedding space (FNV-1a 64 in hex): servers limit
/// collection names, and model ids contain `/`, `@` and `#`.
pub fn space_tag(space: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in space.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn space_tags_are_stable_and_distinct() {
        assert_eq!(
            super::space_tag("openai/text-embedding-3-small#1536"),
            super::space_tag("openai/text-embedding-3-small#1536")
        );
        assert_ne!(super::space_tag("a#4"), super::space_tag("a#3"));
        assert_eq!(super::space_tag("x").len(), 16);
    }
}

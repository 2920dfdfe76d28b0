//! The VectorIndex contract against a real Qdrant server: set `QDRANT_URL` (gRPC, e.g.
//! `http://localhost:6334`) and optionally `QDRANT_API_KEY`, else every case prints SKIPPED.
#![cfg(feature = "qdrant")]

use meai_vector::QdrantIndex;
use std::sync::Arc;

async fn qdrant() -> Option<Arc<QdrantIndex>> {
    let url = std::env::var("QDRANT_URL").ok().filter(|u| !u.is_empty())?;
    let key = std::env::var("QDRANT_API_KEY").ok().filter(|k| !k.is_empty());
    Some(Arc::new(
        QdrantIndex::connect(&url, key).await.expect("qdrant reachable"),
    ))
}

meai_core::vector_index_contract_tests!(qdrant);

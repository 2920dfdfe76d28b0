//! The VectorIndex contract against a real Qdrant server: set `QDRANT_URL` (gRPC, e.g.
//! `http://localhost:6334`) and optionally `QDRANT_API_KEY`.
#![cfg(feature = "qdrant")]

use meai_vector::QdrantIndex;
use std::sync::Arc;

async fn qdrant() -> Arc<QdrantIndex> {
    let url = std::env::var("QDRANT_URL").expect("QDRANT_URL names a Qdrant server");
    let key = std::env::var("QDRANT_API_KEY").ok().filter(|k| !k.is_empty());
    Arc::new(QdrantIndex::connect(&url, key).await.expect("qdrant reachable"))
}

meai_core::vector_index_contract_tests!(qdrant);

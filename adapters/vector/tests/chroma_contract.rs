//! The VectorIndex contract against a real Chroma server: set `TEST_CHROMA_URL`
//! (e.g. `http://127.0.0.1:8000`), else every case prints SKIPPED.
#![cfg(feature = "chroma")]

use meai_vector::ChromaIndex;
use std::sync::Arc;

async fn chroma() -> Option<Arc<ChromaIndex>> {
    let url = std::env::var("TEST_CHROMA_URL").ok().filter(|u| !u.is_empty())?;
    Some(Arc::new(
        ChromaIndex::connect(&url, "default_tenant", "meai_test")
            .await
            .expect("chroma reachable"),
    ))
}

meai_core::vector_index_contract_tests!(chroma);

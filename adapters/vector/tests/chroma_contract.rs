//! The VectorIndex contract against a real Chroma server at `TEST_CHROMA_URL`
//! (e.g. `http://127.0.0.1:8000`; `cargo xtask test` starts one from the `chromadb` package).
#![cfg(feature = "chroma")]

use meai_vector::ChromaIndex;
use std::sync::Arc;

async fn chroma() -> Arc<ChromaIndex> {
    let url = meai_testkit::need::chroma_url();
    Arc::new(
        ChromaIndex::connect(&url, "default_tenant", "meai_test")
            .await
            .expect("chroma reachable"),
    )
}

meai_core::vector_index_contract_tests!(chroma);

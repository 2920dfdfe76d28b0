//! The VectorIndex contract against the in-memory index.

async fn index() -> std::sync::Arc<meai_mock::MemoryIndex> {
    std::sync::Arc::new(meai_mock::MemoryIndex::default())
}

meai_core::vector_index_contract_tests!(index);

//! The Store contract against the in-memory store.

meai_core::store_contract_tests!(|| async { Some(std::sync::Arc::new(meai_mock::MemoryStore::default())) });

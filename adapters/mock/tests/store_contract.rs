//! The Store and MessageSource contracts against the in-memory store.

async fn store() -> std::sync::Arc<meai_mock::MemoryStore> {
    std::sync::Arc::new(meai_mock::MemoryStore::default())
}

meai_core::store_contract_tests!(store);
meai_core::consent_store_contract_tests!(store);
meai_core::message_source_contract_tests!(store);
meai_core::data_contract_tests!(store);

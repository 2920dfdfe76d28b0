//! Which adapter serves each port. Production picks them from configuration
//! ([`Adapters::from_config`]); tests build the same struct from `meai-mock` and wire-level fakes,
//! so everything after this point ([`crate::startup::assemble`]) is the same in both.

use crate::config::Config;
use crate::startup::StartError;
use meai_core::Store;
use meai_core::identity::Identity;
use meai_core::mcp::SecretSealer;
use meai_core::memory::{MessageSource, VectorIndex};
use meai_core::model::{ChatModel, Embedder};
use meai_core::session::{SessionNotices, TokenCodec};
use meai_core::toolkits::Toolkits;
use meai_core::turn::RunRegistry;
use meai_sql::SqlStore;
use std::sync::Arc;

pub struct Adapters {
    pub store: Arc<dyn Store>,
    /// Messages by id and keyword for memory (the store's own tables in production).
    pub source: Arc<dyn MessageSource>,
    pub index: Arc<dyn VectorIndex>,
    pub embedder: Arc<dyn Embedder>,
    /// `None` when no model provider is configured: turns end with an error.
    pub model: Option<Arc<dyn ChatModel>>,
    /// `None` without Composio: no toolkits, no tools.
    pub toolkits: Option<Arc<dyn Toolkits>>,
    pub runs: Arc<dyn RunRegistry>,
    /// "A session ended", to every instance (Redis with `REDIS_URL`, else in-process).
    pub notices: Arc<dyn SessionNotices>,
    pub codec: Arc<dyn TokenCodec>,
    /// Seals secrets kept at rest (a person's MCP tokens).
    pub sealer: Arc<dyn SecretSealer>,
    /// `None` in local (single-user) mode.
    pub identity: Option<Arc<dyn Identity>>,
}

impl Adapters {
    /// Connects the database (migrating it when `MIGRATE_ON_START`) and builds every adapter the
    /// configuration names.
    pub async fn from_config(config: &Config) -> Result<Self, StartError> {
        let sql = SqlStore::connect(config.database_url.expose()).await?;
        if config.migrate_on_start {
            sql.migrate().await?;
        }
        tracing::info!(backend = sql.backend(), "store connected");
        let store: Arc<dyn Store> = Arc::new(sql.clone());
        Ok(Self {
            runs: crate::ops::registry(config)?,
            notices: crate::ops::notices(config)?,
            index: crate::memory::index(config, &sql).await?,
            embedder: crate::memory::embedder(config)?,
            source: Arc::new(sql),
            model: crate::turns::chat_model(config)?,
            toolkits: crate::toolkits::composio(config)?,
            codec: crate::sign_in::codec(config)?,
            sealer: crate::mcp::sealer(config)?,
            identity: crate::sign_in::identity(config)?,
            store,
        })
    }
}

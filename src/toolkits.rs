//! Wiring of the toolkits: the Composio adapter, the connection use cases, and the tools the
//! assistant turn offers. Everything is off without `COMPOSIO_API_KEY`.

use crate::config::{Config, ConfigError};
use meai_composio::{ComposioConfig, ComposioToolkits};
use meai_core::Store;
use meai_core::toolkits::{ToolkitCatalog, ToolkitConnections, ToolkitTools};
use meai_core::turn::{ToolExecutor, Turns};
use std::sync::Arc;

/// The toolkit side of the application, when Composio is configured.
#[derive(Clone)]
pub struct Toolkits {
    pub connections: ToolkitConnections,
    pub tools: Arc<dyn ToolExecutor>,
}

/// The supported toolkits with the auth config ids set in the configuration.
pub fn catalog(config: &Config) -> ToolkitCatalog {
    let ids = [
        ("GOOGLECALENDAR", &config.google_calendar_auth_config_id),
        ("NOTION", &config.notion_auth_config_id),
        ("GMAIL", &config.gmail_auth_config_id),
        ("GOOGLETASKS", &config.google_tasks_auth_config_id),
        ("SLACKBOT", &config.slackbot_auth_config_id),
        ("TWITTER", &config.twitter_auth_config_id),
    ];
    let catalog = ids.into_iter().fold(ToolkitCatalog::new(), |c, (slug, id)| match id {
        Some(id) => c.with_auth_config(slug, id.trim()),
        None => c,
    });
    let search = config.web_search_toolkits.as_deref().unwrap_or_default();
    search
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .fold(catalog, |c, slug| c.with_always_on(slug))
}

pub fn build(config: &Config, store: Arc<dyn Store>) -> Result<Option<Toolkits>, ConfigError> {
    let Some(key) = &config.composio_api_key else {
        tracing::warn!("COMPOSIO_API_KEY is not set: toolkits are off (their endpoints answer 503)");
        return Ok(None);
    };
    let mut composio = ComposioConfig::new(key.expose())
        .with_callback_url(config.composio_callback_url.as_deref().unwrap_or(&config.frontend_url));
    if let Some(url) = &config.composio_base_url {
        composio = composio.with_base_url(url);
    }
    tracing::info!(base_url = %composio.base_url, api_prefix = %composio.api_prefix, "Composio toolkits configured");
    let adapter = Arc::new(ComposioToolkits::new(composio).map_err(|e| ConfigError::new(format!("Composio: {e}")))?);
    let catalog = catalog(config);
    Ok(Some(Toolkits {
        connections: ToolkitConnections::new(store.clone(), adapter.clone(), catalog.clone()),
        tools: Arc::new(ToolkitTools::new(store, adapter, catalog)),
    }))
}

/// The turn with the toolkits' tools, when there are toolkits.
pub fn with_tools(turns: Turns, toolkits: Option<&Toolkits>) -> Turns {
    match toolkits {
        Some(t) => turns.with_tools(Arc::new(crate::metrics::metered::MeteredTools(t.tools.clone()))),
        None => turns,
    }
}

//! The toolkits' configuration: the Composio adapter and the catalogue of supported toolkits
//! with their auth configs. Everything is off without `COMPOSIO_API_KEY`.

use crate::config::{Config, ConfigError};
use meai_composio::{ComposioConfig, ComposioToolkits};
use meai_core::toolkits::{ToolkitCatalog, Toolkits};
use std::sync::Arc;

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

/// The Composio adapter, when `COMPOSIO_API_KEY` is set.
pub fn composio(config: &Config) -> Result<Option<Arc<dyn Toolkits>>, ConfigError> {
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
    let adapter = ComposioToolkits::new(composio).map_err(|e| ConfigError::new(format!("Composio: {e}")))?;
    Ok(Some(Arc::new(adapter)))
}

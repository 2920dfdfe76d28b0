//! MCP servers in the app: the operator's from `MCP_SERVERS`, each person's from the store, and
//! the SSRF guard on what people add. With the `mcp` cargo feature off there are none, and the
//! `/mcp/servers` endpoints answer 503.

use crate::config::{Config, ConfigError};
use meai_core::Store;
use meai_core::mcp::{McpServers, SecretSealer};
use meai_core::toolkits::ToolSource;
use std::sync::Arc;

/// A person's servers (the use cases) and the tools of every server for the turn.
pub struct Wired {
    pub servers: Option<McpServers>,
    pub source: Option<Arc<dyn ToolSource>>,
}

#[cfg(feature = "mcp")]
mod enabled {
    use super::*;
    use meai_mcp::{McpServerConfig, McpSource, SourceSettings, SsrfGuard};
    use serde::Deserialize;
    use std::collections::BTreeMap;
    use std::time::Duration;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct OperatorServer {
        name: String,
        url: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
    }

    /// The operator's servers from `MCP_SERVERS`. Errors name the setting, never its values
    /// (headers carry keys).
    pub fn operator_servers(config: &Config) -> Result<Vec<McpServerConfig>, ConfigError> {
        let Some(raw) = config
            .mcp_servers
            .as_ref()
            .map(|s| s.expose().trim())
            .filter(|s| !s.is_empty())
        else {
            return Ok(Vec::new());
        };
        let parsed: Vec<OperatorServer> = serde_json::from_str(raw).map_err(|e| {
            ConfigError::new(format!(
                "MCP_SERVERS must be a JSON array of {{\"name\", \"url\", \"headers\"?}} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let mut names = std::collections::HashSet::new();
        parsed
            .into_iter()
            .map(|s| {
                let name = s.name.trim().to_owned();
                if name.is_empty() || name.chars().count() > meai_core::mcp::MAX_NAME_CHARS {
                    return Err(ConfigError::new(
                        "MCP_SERVERS: every server needs a name of 1 to 64 characters",
                    ));
                }
                if !names.insert(name.to_ascii_lowercase()) {
                    return Err(ConfigError::new(format!("MCP_SERVERS: the name {name} is used twice")));
                }
                if url::Url::parse(s.url.trim()).is_err() {
                    return Err(ConfigError::new(format!("MCP_SERVERS: the URL of {name} is not a URL")));
                }
                let config = s
                    .headers
                    .into_iter()
                    .fold(McpServerConfig::new(name, s.url.trim()), |c, (k, v)| {
                        c.with_header(k, v)
                    });
                // The operator's own servers may run beside meAI.
                Ok(config.allow_private(true))
            })
            .collect()
    }

    pub fn wire(config: &Config, store: Arc<dyn Store>, sealer: Arc<dyn SecretSealer>) -> Result<Wired, ConfigError> {
        let operator = operator_servers(config)?;
        let allow_private = config.mcp_allow_private_urls;
        let guard = Arc::new(SsrfGuard { allow_private });
        let servers = McpServers::new(store, sealer, guard);
        let settings = SourceSettings {
            list_timeout: Duration::from_secs(config.mcp_list_timeout_seconds),
            call_timeout: Duration::from_secs(config.mcp_call_timeout_seconds),
            allow_private,
        };
        tracing::info!(
            operator_servers = operator.len(),
            allow_private_urls = allow_private,
            "MCP servers configured"
        );
        let source = McpSource::new(operator, Some(servers.clone()), settings);
        Ok(Wired {
            servers: Some(servers),
            source: Some(Arc::new(source)),
        })
    }
}

#[cfg(feature = "mcp")]
pub use enabled::wire;

#[cfg(not(feature = "mcp"))]
pub fn wire(config: &Config, _store: Arc<dyn Store>, _sealer: Arc<dyn SecretSealer>) -> Result<Wired, ConfigError> {
    if config
        .mcp_servers
        .as_ref()
        .is_some_and(|s| !s.expose().trim().is_empty())
    {
        tracing::warn!("MCP_SERVERS is set but this build has no `mcp` feature: MCP servers are off");
    }
    Ok(Wired {
        servers: None,
        source: None,
    })
}

/// The sealer of secrets at rest: keyed by `SECRET_KEY` (or the session key file), else by a
/// random key, which leaves stored tokens unreadable after a restart.
pub fn sealer(config: &Config) -> Result<Arc<dyn SecretSealer>, ConfigError> {
    use meai_session::AeadSealer;
    if let Some(secret) = &config.secret_key {
        return Ok(Arc::new(AeadSealer::from_secret(secret.expose().as_bytes())));
    }
    if let Some(path) = &config.session_key_file {
        let key =
            std::fs::read_to_string(path).map_err(|e| ConfigError::new(format!("SESSION_KEY_FILE {path}: {e}")))?;
        return Ok(Arc::new(AeadSealer::from_secret(key.trim().as_bytes())));
    }
    tracing::warn!("SECRET_KEY is not set: MCP tokens people store cannot be read after a restart");
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    Ok(Arc::new(AeadSealer::from_secret(&seed)))
}

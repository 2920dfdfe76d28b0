//! MCP servers as a [`ToolSource`] for the turn: the operator's servers (for everyone) and each
//! person's own (from the store, tokens opened by the core), listed concurrently, each within a
//! bound, under names unique across servers (`mcp_<server>__<tool>`).
//!
//! A server that is down, slow or refusing costs a logged warning and its tools, never the
//! turn. Each spec carries its server as toolkit (`MCP_<SERVER>`) and its annotations as hints,
//! so the approval policy (`readOnlyHint` -> auto, otherwise ask) and the action log treat MCP
//! tools like the platform's.

use crate::names::{ToolNamespace, server_slug};
use crate::{McpError, McpServerConfig, McpTool, McpToolkit, Secret};
use meai_core::mcp::{McpServers, Reachable};
use meai_core::model::{ToolHints, ToolSpec};
use meai_core::toolkits::ToolSource;
use meai_core::turn::ToolError;
use meai_core::{McpServerId, UserId};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Default bound on listing one server's tools for a turn (connecting included).
pub const DEFAULT_LIST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default bound on one tool call.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections to persons' servers kept at most; past it the cache starts over.
const MAX_CACHED: usize = 1_000;

/// How the source reaches servers and how long it waits for them.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub list_timeout: Duration,
    pub call_timeout: Duration,
    /// Whether a person's server may be on loopback or a private network.
    pub allow_private: bool,
}

impl Default for SourceSettings {
    fn default() -> Self {
        Self {
            list_timeout: DEFAULT_LIST_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            allow_private: false,
        }
    }
}

/// A person's server as last connected, reused while its configuration stays the same.
struct Cached {
    seen: Reachable,
    toolkit: Arc<McpToolkit>,
}

pub struct McpSource {
    operator: Vec<Arc<McpToolkit>>,
    personal: Option<McpServers>,
    settings: SourceSettings,
    cache: Mutex<HashMap<McpServerId, Cached>>,
}

/// One server offered to a user: the name its tools are namespaced under, and the server.
struct Server {
    key: String,
    toolkit: Arc<McpToolkit>,
}

impl McpSource {
    /// `operator`: the servers from configuration, offered to everyone (their own
    /// `allow_private` applies); `personal`: each person's servers, when the store has them.
    pub fn new(operator: Vec<McpServerConfig>, personal: Option<McpServers>, settings: SourceSettings) -> Self {
        let mut operator: Vec<McpServerConfig> = operator;
        operator.sort_by(|a, b| a.name.cmp(&b.name));
        let operator = operator
            .into_iter()
            .map(|c| {
                let c = bounded(c, &settings);
                Arc::new(McpToolkit::new(c))
            })
            .collect();
        Self {
            operator,
            personal,
            settings,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The servers offered to `user`: the operator's first (by name), then the person's (oldest
    /// first). A person's server named like an operator's is namespaced apart by its id.
    async fn servers(&self, user: UserId) -> Vec<Server> {
        let mut servers: Vec<Server> = self
            .operator
            .iter()
            .map(|t| Server {
                key: t.config().name.clone(),
                toolkit: t.clone(),
            })
            .collect();
        let Some(personal) = &self.personal else {
            return servers;
        };
        let reachable = match personal.reachable(user).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the person's MCP servers: left out");
                return servers;
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > MAX_CACHED {
            cache.clear();
        }
        for r in reachable {
            let clash = servers.iter().any(|s| s.key.eq_ignore_ascii_case(&r.name));
            let key = if clash {
                format!("{}-{}", r.name, r.id)
            } else {
                r.name.clone()
            };
            let toolkit = match cache.get(&r.id) {
                Some(c) if c.seen == r => c.toolkit.clone(),
                _ => {
                    let mut config = McpServerConfig::new(&r.name, &r.url).allow_private(self.settings.allow_private);
                    if let Some(token) = &r.token {
                        config = config.with_bearer_token(Secret::new(token.clone()));
                    }
                    let toolkit = Arc::new(McpToolkit::new(bounded(config, &self.settings)));
                    cache.insert(
                        r.id,
                        Cached {
                            seen: r.clone(),
                            toolkit: toolkit.clone(),
                        },
                    );
                    toolkit
                }
            };
            servers.push(Server { key, toolkit });
        }
        servers
    }

    /// Every server's tools (those that answered in time), and the names given to them.
    async fn catalog(&self, user: UserId) -> (Vec<(Server, Arc<[McpTool]>)>, ToolNamespace) {
        let servers = self.servers(user).await;
        let limit = self.settings.list_timeout;
        let listed = futures::future::join_all(servers.iter().map(|s| async move {
            match tokio::time::timeout(limit, s.toolkit.tools()).await {
                Ok(Ok(tools)) => Some(tools),
                Ok(Err(e)) => {
                    tracing::warn!(server = %s.toolkit.config().name, error = %e, "MCP server left out of the turn");
                    None
                }
                Err(_) => {
                    tracing::warn!(server = %s.toolkit.config().name, ?limit, "MCP server did not list its tools in time: left out of the turn");
                    None
                }
            }
        }))
        .await;
        let mut namespace = ToolNamespace::new();
        let mut out = Vec::new();
        for (server, tools) in servers.into_iter().zip(listed) {
            let Some(tools) = tools else { continue };
            for tool in tools.iter() {
                namespace.insert(&server.key, &tool.name);
            }
            out.push((server, tools));
        }
        (out, namespace)
    }
}

/// A config whose connection fits in the listing bound, so a server that is down is marked so
/// by its toolkit (and skipped for a while) rather than cut off mid-connect each turn.
fn bounded(config: McpServerConfig, settings: &SourceSettings) -> McpServerConfig {
    let connect = config.connect_timeout.min(settings.list_timeout.mul_f64(0.8));
    let timeout = config.timeout.min(settings.list_timeout.max(settings.call_timeout));
    config.with_connect_timeout(connect).with_timeout(timeout)
}

/// The toolkit MCP tools of `server` belong to: `MCP_<SERVER>`, a valid toolkit slug.
pub fn toolkit_name(server: &str) -> String {
    let slug = server_slug(server).replace('-', "_").to_ascii_uppercase();
    let mut name = format!("MCP_{slug}");
    name.truncate(64);
    name
}

fn hints(tool: &McpTool) -> ToolHints {
    let a = &tool.annotations;
    ToolHints {
        read_only: a.read_only,
        destructive: a.destructive,
        idempotent: a.idempotent,
        open_world: a.open_world,
    }
}

fn tool_error(e: McpError) -> ToolError {
    match e {
        McpError::ToolFailed(m) => ToolError::Failed(m),
        McpError::Timeout(t) => ToolError::Failed(format!("the tool did not answer within {}s", t.as_secs())),
        other => ToolError::Unavailable(other.to_string()),
    }
}

#[async_trait::async_trait]
impl ToolSource for McpSource {
    async fn tools(&self, user: UserId) -> Vec<ToolSpec> {
        let (servers, namespace) = self.catalog(user).await;
        let mut specs = Vec::new();
        for (server, tools) in &servers {
            let toolkit = toolkit_name(&server.key);
            for tool in tools.iter() {
                let Some(name) = namespace.name_of(&server.key, &tool.name) else {
                    continue;
                };
                let description = match &tool.annotations.title {
                    Some(title) if !tool.description.contains(title.as_str()) => {
                        format!("{title}: {}", tool.description)
                    }
                    _ => tool.description.clone(),
                };
                specs.push(
                    ToolSpec::new(name, description, tool.input_schema.clone())
                        .with_hints(hints(tool))
                        .in_toolkit(toolkit.clone()),
                );
            }
        }
        specs
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, tool))]
    async fn execute(&self, user: UserId, tool: &str, arguments: &Value) -> Result<String, ToolError> {
        let (servers, namespace) = self.catalog(user).await;
        let Some((key, own)) = namespace.resolve(tool) else {
            return Err(ToolError::Unknown(tool.to_owned()));
        };
        let Some((server, _)) = servers.iter().find(|(s, _)| s.key == key) else {
            return Err(ToolError::Unknown(tool.to_owned()));
        };
        let out = server
            .toolkit
            .call_tool(own, arguments.clone(), self.settings.call_timeout)
            .await
            .map_err(tool_error)?;
        Ok(out.text)
    }
}

/// The SSRF guard as the core's [`meai_core::mcp::UrlGuard`]: what a person may add.
pub struct SsrfGuard {
    pub allow_private: bool,
}

#[async_trait::async_trait]
impl meai_core::mcp::UrlGuard for SsrfGuard {
    async fn check(&self, url: &str) -> Result<(), String> {
        crate::check_url(url, self.allow_private)
            .await
            .map(|_| ())
            .map_err(|e| format!("the MCP server URL was refused: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolkit_names_are_valid_slugs() {
        assert_eq!(toolkit_name("notes"), "MCP_NOTES");
        assert_eq!(toolkit_name("My Git-Hub"), "MCP_MY_GIT_HUB");
        assert!(meai_core::ToolkitSlug::parse(&toolkit_name(&"x".repeat(200))).is_some());
    }
}

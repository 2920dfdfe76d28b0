//! One MCP server as a toolkit: connects lazily, caches its tool list for a while, and keeps a
//! server that is down from slowing every turn.

use crate::{McpClient, McpError, McpServerConfig, McpTool, McpToolOutput, names};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a tool list is reused before it is fetched again.
pub const DEFAULT_TOOLS_TTL: Duration = Duration::from_secs(300);
/// How long a failed connection is reported again without trying, so a server that is down
/// costs one connect timeout per period rather than one per turn.
pub const DEFAULT_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

struct Cached {
    tools: Arc<[McpTool]>,
    at: Instant,
}

struct Failure {
    error: McpError,
    at: Instant,
}

#[derive(Default)]
struct Connection {
    client: Option<Arc<McpClient>>,
    failure: Option<Failure>,
}

pub struct McpToolkit {
    config: McpServerConfig,
    tools_ttl: Duration,
    retry_after_failure: Duration,
    // Held while connecting: concurrent callers wait for one attempt.
    connection: Mutex<Connection>,
    // Held while refreshing: concurrent turns wait for one `tools/list` instead of each
    // sending their own. Tool calls never wait for it.
    tools: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for McpToolkit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpToolkit")
            .field("config", &self.config)
            .field("tools_ttl", &self.tools_ttl)
            .finish_non_exhaustive()
    }
}

impl McpToolkit {
    pub fn new(config: McpServerConfig) -> Self {
        Self {
            config,
            tools_ttl: DEFAULT_TOOLS_TTL,
            retry_after_failure: DEFAULT_RETRY_AFTER_FAILURE,
            connection: Mutex::new(Connection::default()),
            tools: Mutex::new(None),
        }
    }

    pub fn with_tools_ttl(mut self, ttl: Duration) -> Self {
        self.tools_ttl = ttl;
        self
    }

    pub fn with_retry_after_failure(mut self, wait: Duration) -> Self {
        self.retry_after_failure = wait;
        self
    }

    pub fn config(&self) -> &McpServerConfig {
        &self.config
    }

    /// The name the model sees for `tool` of this server (see [`names::model_tool_name`]).
    pub fn model_tool_name(&self, tool: &str) -> String {
        names::model_tool_name(&self.config.name, tool)
    }

    /// The server's tools, from the cache while it is fresh. An error means the server is
    /// unusable for now: log it and leave its tools out.
    pub async fn tools(&self) -> Result<Arc<[McpTool]>, McpError> {
        let mut cache = self.tools.lock().await;
        if let Some(cached) = cache.as_ref()
            && cached.at.elapsed() < self.tools_ttl
        {
            return Ok(cached.tools.clone());
        }
        // A stale list would offer tools that cannot run: it goes whatever happens next.
        *cache = None;
        let client = self.client().await?;
        match client.list_tools().await {
            Ok(tools) => {
                let tools: Arc<[McpTool]> = tools.into();
                *cache = Some(Cached {
                    tools: tools.clone(),
                    at: Instant::now(),
                });
                Ok(tools)
            }
            Err(e) => {
                if e.is_unavailable() {
                    let mut connection = self.connection.lock().await;
                    tracing::warn!(server = %self.config.name, error = %e, "MCP server unavailable");
                    self.failed(&mut connection, e.clone());
                }
                Err(e)
            }
        }
    }

    /// Calls `tool` (its own name, not the namespaced one).
    pub async fn call_tool(&self, tool: &str, arguments: Value, timeout: Duration) -> Result<McpToolOutput, McpError> {
        let client = self.client().await?;
        client.call_tool(tool, arguments, timeout).await
    }

    /// Forgets the cached tool list (say, on `notifications/tools/list_changed`).
    pub async fn invalidate(&self) {
        *self.tools.lock().await = None;
    }

    async fn client(&self) -> Result<Arc<McpClient>, McpError> {
        let mut state = self.connection.lock().await;
        if let Some(client) = &state.client {
            return Ok(client.clone());
        }
        if let Some(failure) = &state.failure
            && failure.at.elapsed() < self.retry_after_failure
        {
            return Err(failure.error.clone());
        }
        match McpClient::connect(&self.config).await {
            Ok(client) => {
                let client = Arc::new(client);
                state.client = Some(client.clone());
                state.failure = None;
                Ok(client)
            }
            Err(e) => {
                tracing::warn!(server = %self.config.name, error = %e, "MCP server unavailable");
                self.failed(&mut state, e.clone());
                Err(e)
            }
        }
    }

    fn failed(&self, state: &mut Connection, error: McpError) {
        state.failure = Some(Failure {
            error,
            at: Instant::now(),
        });
        // The next attempt after the wait starts with a new session.
        state.client = None;
    }
}

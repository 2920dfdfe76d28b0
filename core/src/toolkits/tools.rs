//! The toolkits as the assistant turn's [`ToolExecutor`]: only the user's active toolkits
//! (plus always-on ones such as web search) and the tools of other sources (MCP servers), all
//! ranked together against the message.

use super::{ToolSource, ToolkitCatalog, ToolkitError, Toolkits, rank};
use crate::model::{ToolCall, ToolSpec};
use crate::turn::{ToolError, ToolExecutor};
use crate::{ConnectionStatus, Store, ToolkitSlug, UserId};
use std::sync::Arc;

/// Tools offered per turn unless configured otherwise.
pub const DEFAULT_MAX_TOOLS: usize = 8;
/// Longest tool result fed back to the model, in characters; the rest is cut.
const MAX_RESULT_CHARS: usize = 16_000;

pub struct ToolkitTools {
    store: Arc<dyn Store>,
    /// `None` without a toolkit platform: only the sources' tools.
    toolkits: Option<Arc<dyn Toolkits>>,
    catalog: Arc<ToolkitCatalog>,
    sources: Vec<Arc<dyn ToolSource>>,
    max_tools: usize,
}

/// Where a tool offered to the user runs.
#[derive(Clone, Copy)]
enum Origin {
    Platform,
    Source(usize),
}

impl ToolkitTools {
    pub fn new(store: Arc<dyn Store>, toolkits: Arc<dyn Toolkits>, catalog: ToolkitCatalog) -> Self {
        Self {
            store,
            toolkits: Some(toolkits),
            catalog: Arc::new(catalog),
            sources: Vec::new(),
            max_tools: DEFAULT_MAX_TOOLS,
        }
    }

    /// Tools from sources only, without a toolkit platform.
    pub fn without_platform(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            toolkits: None,
            catalog: Arc::new(ToolkitCatalog::new()),
            sources: Vec::new(),
            max_tools: DEFAULT_MAX_TOOLS,
        }
    }

    /// Another source of tools, offered beside the platform's.
    pub fn with_source(mut self, source: Arc<dyn ToolSource>) -> Self {
        self.sources.push(source);
        self
    }

    pub fn with_max_tools(mut self, max_tools: usize) -> Self {
        self.max_tools = max_tools.max(1);
        self
    }

    /// The toolkits whose tools the user may use right now.
    async fn active(&self, user: UserId) -> Result<Vec<ToolkitSlug>, ToolError> {
        let connections = self
            .store
            .list_connections(user)
            .await
            .map_err(|e| ToolError::Unavailable(format!("storage: {e}")))?;
        let mut slugs: Vec<ToolkitSlug> = connections
            .into_iter()
            .filter(|c| c.status == ConnectionStatus::Active)
            .map(|c| c.toolkit_slug)
            .collect();
        for slug in self.catalog.always_on() {
            if !slugs.contains(slug) {
                slugs.push(slug.clone());
            }
        }
        Ok(slugs)
    }

    async fn platform_tools(&self, user: UserId) -> Result<Vec<ToolSpec>, ToolError> {
        let Some(toolkits) = &self.toolkits else {
            return Ok(Vec::new());
        };
        let active = self.active(user).await?;
        if active.is_empty() {
            return Ok(Vec::new());
        }
        toolkits.tools(&active).await.map_err(|e| to_tool_error(e, ""))
    }

    /// Every tool the user may use, with where it runs. The platform failing fails the listing
    /// only when there is no other source; otherwise its tools are left out, with a warning.
    async fn gather(&self, user: UserId) -> Result<Vec<(ToolSpec, Origin)>, ToolError> {
        let sources = futures::future::join_all(self.sources.iter().map(|s| s.tools(user)));
        let (platform, sourced) = futures::join!(self.platform_tools(user), sources);
        let platform = match platform {
            Ok(tools) => tools,
            Err(e) if !self.sources.is_empty() => {
                tracing::warn!(error = %e, "toolkit platform unavailable: its tools are left out");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let mut all: Vec<(ToolSpec, Origin)> = platform.into_iter().map(|t| (t, Origin::Platform)).collect();
        for (i, tools) in sourced.into_iter().enumerate() {
            for tool in tools {
                // The first of two tools under one name wins; sources namespace theirs.
                if !all.iter().any(|(t, _)| t.name == tool.name) {
                    all.push((tool, Origin::Source(i)));
                }
            }
        }
        Ok(all)
    }

    async fn all_tools(&self, user: UserId) -> Result<Vec<ToolSpec>, ToolError> {
        Ok(self.gather(user).await?.into_iter().map(|(t, _)| t).collect())
    }
}

fn to_tool_error(e: ToolkitError, tool: &str) -> ToolError {
    match e {
        ToolkitError::ToolFailed(m) | ToolkitError::BadRequest(m) => ToolError::Failed(m),
        ToolkitError::NoConnectedAccount(_) => ToolError::Failed(format!(
            "{tool} needs a connected account: ask the user to connect the toolkit"
        )),
        ToolkitError::NotFound(_) => ToolError::Unknown(tool.to_owned()),
        ToolkitError::RateLimited { .. } => ToolError::Unavailable("rate limited, try again later".into()),
        ToolkitError::Upstream(m) | ToolkitError::Unavailable(m) => ToolError::Unavailable(m),
    }
}

fn truncate(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(MAX_RESULT_CHARS) {
        text.truncate(cut);
        text.push_str(" ... [truncated]");
    }
    text
}

#[async_trait::async_trait]
impl ToolExecutor for ToolkitTools {
    /// Without a message to rank against: the leading tools of each active toolkit.
    async fn tools_for(&self, user: UserId) -> Result<Vec<ToolSpec>, ToolError> {
        Ok(rank::top(self.all_tools(user).await?, "", self.max_tools))
    }

    async fn tools_for_message(&self, user: UserId, message: &str) -> Result<Vec<ToolSpec>, ToolError> {
        let tools = rank::top(self.all_tools(user).await?, message, self.max_tools);
        tracing::debug!(offered = ?tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), "tools chosen");
        Ok(tools)
    }

    async fn available(&self, user: UserId) -> Result<Vec<ToolSpec>, ToolError> {
        self.all_tools(user).await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, tool = %call.name))]
    async fn execute(&self, user: UserId, call: &ToolCall) -> Result<String, ToolError> {
        // Only tools of the user's active toolkits and sources run, whatever the model asks for.
        let origin = self
            .gather(user)
            .await?
            .into_iter()
            .find(|(t, _)| t.name == call.name)
            .map(|(_, origin)| origin);
        let Some(origin) = origin else {
            return Err(ToolError::Unknown(call.name.clone()));
        };
        if !call.arguments.is_object() {
            return Err(ToolError::Failed("the arguments must be a JSON object".into()));
        }
        let data = match (origin, &self.toolkits) {
            (Origin::Source(i), _) => {
                let text = self.sources[i].execute(user, &call.name, &call.arguments).await?;
                return Ok(truncate(text));
            }
            (Origin::Platform, Some(toolkits)) => toolkits
                .execute(user, &call.name, &call.arguments)
                .await
                .map_err(|e| to_tool_error(e, &call.name))?,
            (Origin::Platform, None) => return Err(ToolError::Unknown(call.name.clone())),
        };
        // Text is fed back as is; anything else as its JSON.
        let text = match data {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        Ok(truncate(text))
    }
}

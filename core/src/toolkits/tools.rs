//! The toolkits as the assistant turn's [`ToolExecutor`]: only the user's active toolkits
//! (plus always-on ones such as web search), ranked against the message.

use super::{ToolkitCatalog, ToolkitError, Toolkits, rank};
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
    toolkits: Arc<dyn Toolkits>,
    catalog: Arc<ToolkitCatalog>,
    max_tools: usize,
}

impl ToolkitTools {
    pub fn new(store: Arc<dyn Store>, toolkits: Arc<dyn Toolkits>, catalog: ToolkitCatalog) -> Self {
        Self {
            store,
            toolkits,
            catalog: Arc::new(catalog),
            max_tools: DEFAULT_MAX_TOOLS,
        }
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

    async fn all_tools(&self, user: UserId) -> Result<Vec<ToolSpec>, ToolError> {
        let active = self.active(user).await?;
        if active.is_empty() {
            return Ok(Vec::new());
        }
        self.toolkits.tools(&active).await.map_err(|e| to_tool_error(e, ""))
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
        // Only tools of the user's active toolkits run, whatever the model asks for.
        if !self.all_tools(user).await?.iter().any(|t| t.name == call.name) {
            return Err(ToolError::Unknown(call.name.clone()));
        }
        if !call.arguments.is_object() {
            return Err(ToolError::Failed("the arguments must be a JSON object".into()));
        }
        let data = self
            .toolkits
            .execute(user, &call.name, &call.arguments)
            .await
            .map_err(|e| to_tool_error(e, &call.name))?;
        // Text is fed back as is; anything else as its JSON.
        let text = match data {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        Ok(truncate(text))
    }
}

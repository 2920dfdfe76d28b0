//! The ToolSource port: tools that come from somewhere other than the toolkit platform (MCP
//! servers, the operator's and each person's), offered in the same turn beside it.
//!
//! A source names its tools so they cannot collide with the platform's slugs nor with each
//! other's (`mcp_<server>__<tool>`), and sets each spec's toolkit (the server) and hints (its
//! annotations), which is what ranking, the approval policy and the action log read.

use crate::UserId;
use crate::model::ToolSpec;
use crate::turn::ToolError;
use serde_json::Value;

#[async_trait::async_trait]
pub trait ToolSource: Send + Sync + 'static {
    /// The tools the user may use from this source right now. A part of the source that is
    /// down or slow is left out (the adapter logs why and bounds the wait): a source never fails
    /// the turn.
    async fn tools(&self, user: UserId) -> Vec<ToolSpec>;

    /// Runs one of the user's tools, by the name [`ToolSource::tools`] gave it, within the
    /// source's timeout. A name the user has no such tool under is [`ToolError::Unknown`].
    async fn execute(&self, user: UserId, tool: &str, arguments: &Value) -> Result<String, ToolError>;
}

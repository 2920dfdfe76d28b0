//! The seam where toolkits plug into the turn: which tools a user may use, and running one.
//!
//! The Toolkits port (Composio) implements this in its own issue; the mock adapter fakes a
//! toolkit for tests. Tool names are Composio slugs (`GMAIL_SEND_EMAIL`), which is also how tool
//! messages are labelled in the conversation (`[GMAIL_SEND_EMAIL] ...`).

use crate::UserId;
use crate::model::{ToolCall, ToolSpec};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// The tool does not exist or the user has not connected its toolkit.
    #[error("unknown tool {0}")]
    Unknown(String),
    /// The tool ran and failed; the message is fed back to the model, so it must be readable.
    #[error("{0}")]
    Failed(String),
    /// The toolkit service could not be reached.
    #[error("the toolkit service is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait ToolExecutor: Send + Sync + 'static {
    /// Tools of the user's active toolkits (empty when none is connected).
    async fn tools_for(&self, user: UserId) -> Result<Vec<ToolSpec>, ToolError>;

    /// The tools to offer for a turn answering `message`: an implementation may rank its tools
    /// against it and offer only the few relevant ones, keeping requests small.
    async fn tools_for_message(&self, user: UserId, message: &str) -> Result<Vec<ToolSpec>, ToolError> {
        let _ = message;
        self.tools_for(user).await
    }

    /// Every tool the user may use right now, unranked: where a decision looks up the tool's
    /// schema, and where the policy endpoints list effective policies. The default is
    /// [`ToolExecutor::tools_for`].
    async fn available(&self, user: UserId) -> Result<Vec<ToolSpec>, ToolError> {
        self.tools_for(user).await
    }

    /// Runs one call for the user; the result text is fed back to the model.
    async fn execute(&self, user: UserId, call: &ToolCall) -> Result<String, ToolError>;
}

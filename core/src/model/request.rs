use super::{ChatMessage, ToolSpec};

/// One call to a chat model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    /// Tools the model may call; empty for a plain answer.
    pub tools: Vec<ToolSpec>,
    /// Another model of the same provider for this call (e.g. a cheaper one for summaries and
    /// titles); `None` uses the adapter's configured chat model.
    pub model: Option<String>,
}

impl ChatRequest {
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            tools: Vec::new(),
            model: None,
        }
    }

    pub fn with_tools(mut self, tools: Vec<ToolSpec>) -> Self {
        self.tools = tools;
        self
    }

    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
}

use super::ToolCall;

/// One message of a conversation as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatMessage {
    /// Instructions; adapters merge several into the provider's single system slot when needed.
    System(String),
    User(String),
    /// What the model said, and the tools it asked for (`tool_calls` empty for a plain answer).
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call, answering the [`ToolCall`] with the same `call_id`.
    ///
    /// All results of one assistant turn go back together, right after that assistant message:
    /// providers (Gemini) reject a follow-up whose result count differs from the call count.
    ToolResult {
        call_id: String,
        name: String,
        content: String,
    },
}

impl ChatMessage {
    pub fn system(text: impl Into<String>) -> Self {
        Self::System(text.into())
    }

    pub fn user(text: impl Into<String>) -> Self {
        Self::User(text.into())
    }

    /// A plain assistant answer, without tool calls.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::Assistant {
            text: text.into(),
            tool_calls: Vec::new(),
        }
    }

    pub fn assistant_with_tools(text: impl Into<String>, tool_calls: Vec<ToolCall>) -> Self {
        Self::Assistant {
            text: text.into(),
            tool_calls,
        }
    }

    /// The result answering `call`.
    pub fn tool_result(call: &ToolCall, content: impl Into<String>) -> Self {
        Self::ToolResult {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content: content.into(),
        }
    }
}

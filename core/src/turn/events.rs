//! What a run tells its listeners. The names and payloads are the Socket.IO contract's
//! (`tool`, `assistant`, `error`, `last_chunk`, plus `tool_approval`); the SSE endpoint reuses
//! them.

use crate::{ApprovalId, ConversationId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One thing that happened during an assistant turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TurnEvent {
    /// The question this run answers, as stored: for the conversation's other tabs (the sender's
    /// own view of its run leaves it out, see [`super::StartedTurn::events`]).
    Human { content: String, message_id: i64 },
    /// Tool progress ("calling GMAIL_SEND_EMAIL", then its result).
    Tool { content: String },
    /// A chunk of the answer's text.
    Assistant { content: String },
    /// A tool call waits for the person's decision (`tool_decision`, or a plain "yes"); the run
    /// ends right after, with `last_chunk`, and the decision starts a new one.
    ToolApproval {
        approval_id: ApprovalId,
        conversation_id: ConversationId,
        toolkit: String,
        tool: String,
        /// As the model asked (what approving runs, unless edited).
        arguments: Value,
        summary: String,
    },
    /// Why the turn could not finish normally. Always followed by [`TurnEvent::LastChunk`].
    Error { error: String },
    /// The end of the turn: every run ends with exactly one. `stopped` is set when a `stop`
    /// request cut the answer short.
    LastChunk { stopped: bool },
}

impl TurnEvent {
    /// The event name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Human { .. } => "human",
            Self::Tool { .. } => "tool",
            Self::Assistant { .. } => "assistant",
            Self::ToolApproval { .. } => "tool_approval",
            Self::Error { .. } => "error",
            Self::LastChunk { .. } => "last_chunk",
        }
    }

    pub fn is_last(&self) -> bool {
        matches!(self, Self::LastChunk { .. })
    }
}

/// An event with its position in the run: sequence numbers start at 1 and have no gaps, so a
/// client that saw up to `seq` can ask for exactly what it missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEvent {
    pub seq: u64,
    pub event: TurnEvent,
}

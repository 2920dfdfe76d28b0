//! Run events as the frontend expects them (names and payloads of the original Socket.IO API,
//! plus `seq` and `conversation_id`, which it ignores). Shared with the SSE endpoint.

use meai_core::ConversationId;
use meai_core::turn::{RunEvent, TurnEvent};
use serde_json::{Value, json};

/// The event name and payload of a run event.
pub fn payload(conversation: ConversationId, e: &RunEvent) -> (&'static str, Value) {
    let c = conversation.0;
    let body = match &e.event {
        TurnEvent::Human { content, message_id } => json!({
            "role": "human", "content": content, "message_id": message_id, "seq": e.seq, "conversation_id": c
        }),
        TurnEvent::Tool { content } => json!({"role": "tool", "content": content, "seq": e.seq, "conversation_id": c}),
        TurnEvent::Assistant { content } => {
            json!({"role": "assistant", "content": content, "seq": e.seq, "conversation_id": c})
        }
        TurnEvent::ToolApproval {
            approval_id,
            conversation_id: _,
            toolkit,
            tool,
            arguments,
            summary,
        } => json!({"approval_id": approval_id.0, "conversation_id": c, "toolkit": toolkit, "tool": tool,
                    "arguments": arguments, "summary": summary, "seq": e.seq}),
        TurnEvent::Error { error } => json!({"error": error, "seq": e.seq, "conversation_id": c}),
        TurnEvent::LastChunk { stopped } => {
            json!({"last_chunk": true, "stopped": stopped, "seq": e.seq, "conversation_id": c})
        }
    };
    (e.event.name(), body)
}

/// An `error` outside any run (bad request, refused message...).
pub fn error(message: impl Into<String>, conversation: Option<ConversationId>) -> Value {
    match conversation {
        Some(c) => json!({"error": message.into(), "conversation_id": c.0}),
        None => json!({"error": message.into()}),
    }
}

/// The `last_chunk` that ends a refused message (no run, so no `seq`).
pub fn last_chunk(conversation: Option<ConversationId>) -> Value {
    match conversation {
        Some(c) => json!({"last_chunk": true, "stopped": false, "conversation_id": c.0}),
        None => json!({"last_chunk": true, "stopped": false}),
    }
}

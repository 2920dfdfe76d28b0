//! What the model sees: instructions, the conversation summary, recalled messages, and the
//! latest messages.

use super::TurnSettings;
use crate::memory::{MemoryError, Recalled};
use crate::model::{ChatMessage, ToolSpec};
use crate::{Conversation, ConversationId, MemoryFact, Message, MessageKind, UserId};
use std::time::Duration;

/// Why recall gave nothing; the turn logs it and answers without recalled messages.
#[derive(Debug, thiserror::Error)]
pub enum RecallError {
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// Recall took longer than the turn may wait before its first token.
    #[error("recall took longer than {} ms", .0.as_millis())]
    TimedOut(Duration),
}

/// The seam for semantic recall: the person's memories and earlier messages relevant to
/// `query`, best first (at most `limit` messages). Failures only cost recall, never the turn.
#[async_trait::async_trait]
pub trait Recall: Send + Sync + 'static {
    async fn recall(
        &self,
        user: UserId,
        conversation: ConversationId,
        query: &str,
        limit: usize,
    ) -> Result<Recalled, RecallError>;

    /// After an answered turn: the turn's messages (the human one first), to be remembered for
    /// later recall. Must return quickly (queue the work); the default forgets them.
    async fn remember(&self, _user: UserId, _messages: &[Message]) {}
}

/// The instructions, naming the toolkits whose tools are offered.
fn system_prompt(settings: &TurnSettings, tools: &[ToolSpec]) -> String {
    let mut toolkits: Vec<&str> = tools
        .iter()
        .map(|t| t.name.split('_').next().unwrap_or(&t.name))
        .collect();
    toolkits.sort_unstable();
    toolkits.dedup();
    if toolkits.is_empty() {
        settings.system_prompt.clone()
    } else {
        format!(
            "{}\n\nThe user connected these toolkits, which you can use through tools: {}.",
            settings.system_prompt,
            toolkits.join(", ")
        )
    }
}

fn as_chat(m: &Message) -> ChatMessage {
    match m.kind {
        MessageKind::Human => ChatMessage::user(&m.content),
        MessageKind::Ai => ChatMessage::assistant(&m.content),
        // Stored tool results lost their call ids; the model reads them as notes of what the
        // assistant did.
        MessageKind::Tool => ChatMessage::assistant(&m.content),
        MessageKind::System => ChatMessage::system(&m.content),
    }
}

/// Builds the context. `history` is oldest first and ends with the new human message.
pub(super) fn build(
    settings: &TurnSettings,
    conversation: &Conversation,
    tools: &[ToolSpec],
    memories: &[MemoryFact],
    recalled: &[Message],
    history: &[Message],
) -> Vec<ChatMessage> {
    let mut messages = vec![ChatMessage::system(system_prompt(settings, tools))];
    if let Some(summary) = conversation.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        messages.push(ChatMessage::system(format!(
            "Summary of the conversation so far:\n{summary}"
        )));
    }
    if !memories.is_empty() {
        let facts: Vec<String> = memories.iter().map(|m| format!("- {}", m.content.as_str())).collect();
        messages.push(ChatMessage::system(format!(
            "What you remember about the user (they can see and correct these memories):\n{}",
            facts.join("\n")
        )));
    }
    let recent: std::collections::HashSet<_> = history.iter().map(|m| m.id).collect();
    let recalled: Vec<String> = recalled
        .iter()
        .filter(|m| !recent.contains(&m.id))
        .map(|m| format!("- {}", m.content))
        .collect();
    if !recalled.is_empty() {
        messages.push(ChatMessage::system(format!(
            "Earlier messages that may be relevant:\n{}",
            recalled.join("\n")
        )));
    }
    messages.extend(history.iter().map(as_chat));
    messages
}

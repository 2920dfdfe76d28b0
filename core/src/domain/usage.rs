use super::ConversationId;
use chrono::NaiveDate;

/// What one answer cost in tokens, as the provider reported them, and the model that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub model: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// The tokens of one day's answers in one conversation by one model (UTC days).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEntry {
    pub day: NaiveDate,
    pub model: String,
    pub conversation_id: ConversationId,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Answers counted.
    pub messages: u64,
}

use super::{ConversationId, MessageId, Parent, Usage, UserId};
use chrono::{DateTime, Utc};

/// Who wrote a message; the wire names are the original API's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Human,
    Ai,
    System,
    Tool,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "Human",
            Self::Ai => "AI",
            Self::System => "System",
            Self::Tool => "Tool",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Human" => Some(Self::Human),
            "AI" => Some(Self::Ai),
            "System" => Some(Self::System),
            "Tool" => Some(Self::Tool),
            _ => None,
        }
    }
}

/// A client-chosen key that makes sending a message idempotent within a conversation: 1 to
/// [`ClientMessageId::MAX_LEN`] characters (as sent), not blank, without U+0000; kept trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientMessageId(String);

impl ClientMessageId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim();
        (!s.is_empty() && raw.chars().count() <= Self::MAX_LEN && super::text::storable(s)).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub kind: MessageKind,
    pub content: String,
    pub client_message_id: Option<ClientMessageId>,
    /// The message before it on its branch (`None` for a first message).
    pub parent_id: Option<MessageId>,
    /// An answer's tokens and model (`None` for other messages, and answers from before usage
    /// was recorded).
    pub usage: Option<Usage>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub kind: MessageKind,
    pub content: String,
    pub client_message_id: Option<ClientMessageId>,
    pub usage: Option<Usage>,
    /// Where it goes in the tree; the new message becomes the active leaf either way.
    pub parent: Parent,
}

impl NewMessage {
    pub fn new(kind: MessageKind, content: impl Into<String>) -> Self {
        Self {
            kind,
            content: content.into(),
            client_message_id: None,
            usage: None,
            parent: Parent::Active,
        }
    }

    pub fn under(mut self, parent: Option<MessageId>) -> Self {
        self.parent = Parent::Under(parent);
        self
    }

    pub fn with_usage(mut self, usage: Option<Usage>) -> Self {
        self.usage = usage;
        self
    }
}

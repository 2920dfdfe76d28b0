use super::StoreError;
use crate::{Conversation, ConversationId, Message, MessageId, MessageKind, Title, UserId};
use chrono::{DateTime, Utc};

/// Where an imported conversation came from (`chatgpt:<id>`, `meai:<id>@<created>`): the same key
/// again imports nothing. At most [`ImportKey::MAX_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImportKey(String);

impl ImportKey {
    pub const MAX_LEN: usize = 200;

    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim();
        (!s.is_empty() && s.len() <= Self::MAX_LEN).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMessage {
    pub kind: MessageKind,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// A conversation from another system (or another meAI), with its own timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedConversation {
    pub title: Option<Title>,
    pub summary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Oldest first.
    pub messages: Vec<ImportedMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    New {
        conversation: Conversation,
        messages: Vec<Message>,
    },
    /// This key was imported before and its conversation still exists.
    Existing(ConversationId),
}

/// What export and import need beyond the other stores.
#[async_trait::async_trait]
pub trait ArchiveStore {
    /// The user's conversations with ids above `after`, in id order, at most `limit` (stable
    /// while conversations are being written to, unlike the activity order).
    async fn conversations_page(
        &self,
        user: UserId,
        after: Option<ConversationId>,
        limit: u64,
    ) -> Result<Vec<Conversation>, StoreError>;

    /// Every message of the user's conversation with an id above `after`, oldest first, at most
    /// `limit` (every branch: an export is the whole record).
    async fn messages_page(
        &self,
        user: UserId,
        conversation: ConversationId,
        after: Option<MessageId>,
        limit: u64,
    ) -> Result<Vec<Message>, StoreError>;

    /// Creates the conversation with all its messages in one transaction, recorded under `key`;
    /// nothing is written when the key was imported before and its conversation still exists.
    async fn import_conversation(
        &self,
        user: UserId,
        key: &ImportKey,
        conversation: &ImportedConversation,
    ) -> Result<Imported, StoreError>;
}

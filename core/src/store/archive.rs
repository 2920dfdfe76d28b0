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
    pub parent: ImportedParent,
}

/// Where an imported message goes in its conversation's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportedParent {
    /// After the message just before it in the list (a flat history).
    #[default]
    Previous,
    /// A first message.
    Root,
    /// Under the message at this index of the list, which must be an earlier one (a later or
    /// missing index is read as [`ImportedParent::Previous`]).
    At(usize),
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
    /// The index of the message that is the active leaf (`None`: the newest).
    pub active_leaf: Option<usize>,
}

impl ImportedConversation {
    /// Each message's parent as an index that is valid (an earlier message), else the message
    /// just before it: what a store writes, whatever the source said.
    pub fn parents(&self) -> impl Iterator<Item = Option<usize>> + '_ {
        self.messages.iter().enumerate().map(|(i, m)| match m.parent {
            ImportedParent::Root => None,
            ImportedParent::At(p) if p < i => Some(p),
            _ => i.checked_sub(1),
        })
    }

    /// The active leaf's index, when there are messages.
    pub fn leaf(&self) -> Option<usize> {
        let last = self.messages.len().checked_sub(1)?;
        Some(self.active_leaf.filter(|l| *l <= last).unwrap_or(last))
    }
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

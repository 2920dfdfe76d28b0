//! What memory needs from the database beyond the Store port: messages by id (to turn vector
//! hits back into messages), keyword matches (the other half of hybrid search), and a scan of
//! every message (to rebuild the index).

use crate::{Message, MessageId, StoreError, UserId};

/// A message with its conversation's title, as search shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundMessage {
    pub message: Message,
    pub conversation_title: Option<String>,
}

#[async_trait::async_trait]
pub trait MessageSource: Send + Sync + 'static {
    /// The user's messages among `ids` (missing ones and other users' are left out), any order.
    async fn messages_by_ids(&self, user: UserId, ids: &[MessageId]) -> Result<Vec<FoundMessage>, StoreError>;

    /// The user's newest messages matching any of `terms`, at most `limit`. Matching is by
    /// words, as a full-text index tokenizes them (runs of letters and digits, case-insensitive):
    /// a term matches a message when each of its words begins a word of the message
    /// (`lis` finds "Lisbon", `isbon` does not); punctuation is not searchable.
    async fn messages_matching(
        &self,
        user: UserId,
        terms: &[String],
        limit: usize,
    ) -> Result<Vec<FoundMessage>, StoreError>;

    /// Every user's messages with ids above `after`, in id order, at most `limit` (for reindexing).
    async fn messages_after(&self, after: Option<MessageId>, limit: usize) -> Result<Vec<Message>, StoreError>;
}

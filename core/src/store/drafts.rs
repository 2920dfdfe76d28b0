use super::StoreError;
use crate::{ConversationId, Message, NewMessage, UserId};
use chrono::{DateTime, Utc};

/// A draft's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DraftId(pub i64);

impl std::fmt::Display for DraftId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An answer being written: what was streamed so far, checkpointed while the turn runs, so a
/// crash loses at most the last moment of it. A conversation has at most one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub id: DraftId,
    pub user_id: UserId,
    pub conversation_id: ConversationId,
    /// The run writing it (the run registry's id), to tell whether its writer is still alive.
    pub run: u64,
    pub content: String,
    pub updated_at: DateTime<Utc>,
}

/// Drafts of answers in progress. Finishing a draft is the one way an answer is stored, which
/// makes storing it happen once: whoever removes the draft (its turn, or the instance closing
/// a dead run) stores the message, in the same transaction.
#[async_trait::async_trait]
pub trait DraftStore {
    /// Starts the conversation's draft for `run`, empty. `NotFound` when the conversation is not
    /// the user's; `Conflict` when it already has a draft (a dead run's: close that one first).
    async fn open_draft(&self, user: UserId, conversation: ConversationId, run: u64) -> Result<DraftId, StoreError>;

    /// Replaces the draft's content; `NotFound` once it is gone (finished by someone else, or its
    /// conversation was deleted).
    async fn save_draft(&self, user: UserId, draft: DraftId, content: &str) -> Result<(), StoreError>;

    /// Removes the draft and, in the same transaction, appends `message` (if any) to its
    /// conversation. `NotFound` when the draft is already gone: nothing is stored then.
    async fn finish_draft(
        &self,
        user: UserId,
        draft: DraftId,
        message: Option<&NewMessage>,
    ) -> Result<Option<Message>, StoreError>;

    /// The conversation's draft, if it has one.
    async fn conversation_draft(&self, user: UserId, conversation: ConversationId)
    -> Result<Option<Draft>, StoreError>;

    /// Every user's drafts, oldest first, at most `limit`: what recovery looks at after a crash.
    /// The one read across users; it serves no request.
    async fn all_drafts(&self, limit: u64) -> Result<Vec<Draft>, StoreError>;
}

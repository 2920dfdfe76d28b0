use super::StoreError;
use crate::{MemoryFact, MemoryId, MemorySwitch, MemoryText, MessageId, NewMemory, Page, UserId};

/// What adding a memory did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remembered {
    New(MemoryFact),
    /// The user already has a memory with this text (compared by [`MemoryText::fingerprint`]).
    Duplicate(MemoryFact),
}

/// Memories: durable facts about the person, kept with the message they came from.
///
/// A user never has two memories with the same fingerprint, nor more than the `max` the caller
/// passes (adding beyond it is `Conflict`). Extraction is recorded per message: a message
/// extracted once is never extracted again, so a memory the person deleted or edited does not
/// come back from it.
#[async_trait::async_trait]
pub trait MemoryFactStore {
    /// The user's memories, newest first; `page.before` is a memory id of this user.
    async fn list_memories(&self, user: UserId, page: Page<MemoryId>) -> Result<Vec<MemoryFact>, StoreError>;

    /// How many memories the user has.
    async fn count_memories(&self, user: UserId) -> Result<u64, StoreError>;

    /// The user's memories among `ids` (missing ones and other users' are left out), any order.
    async fn memories_by_ids(&self, user: UserId, ids: &[MemoryId]) -> Result<Vec<MemoryFact>, StoreError>;

    async fn add_memory(&self, user: UserId, memory: &NewMemory, max: u64) -> Result<Remembered, StoreError>;

    /// Replaces the text (and drops the memory's vector in a database-backed index, in the same
    /// transaction). `Conflict` when another memory of the user has that text.
    async fn edit_memory(&self, user: UserId, id: MemoryId, text: &MemoryText) -> Result<MemoryFact, StoreError>;

    /// Deletes the memory (and its vector in a database-backed index, in the same transaction).
    async fn delete_memory(&self, user: UserId, id: MemoryId) -> Result<(), StoreError>;

    /// Of these messages of the user, the ones never extracted, in the order given.
    async fn unextracted(&self, user: UserId, messages: &[MessageId]) -> Result<Vec<MessageId>, StoreError>;

    /// In one transaction: marks `messages` extracted and adds `memories` whose source is one of
    /// them that was not extracted before (duplicates and those beyond `max` are left out).
    /// Returns the memories added.
    async fn record_extraction(
        &self,
        user: UserId,
        messages: &[MessageId],
        memories: &[NewMemory],
        max: u64,
    ) -> Result<Vec<MemoryFact>, StoreError>;

    /// The person's memory switch (on when never set).
    async fn memory_switch(&self, user: UserId) -> Result<MemorySwitch, StoreError>;

    async fn set_memory_switch(&self, user: UserId, enabled: bool) -> Result<MemorySwitch, StoreError>;

    /// Every user's memories with ids above `after`, in id order, at most `limit` (reindexing).
    async fn memories_after(&self, after: Option<MemoryId>, limit: u64) -> Result<Vec<MemoryFact>, StoreError>;
}

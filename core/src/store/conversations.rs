use super::StoreError;
use crate::{Conversation, ConversationId, Page, Title, UserId};

#[async_trait::async_trait]
pub trait ConversationStore {
    async fn create_conversation(&self, user: UserId, title: Option<&Title>) -> Result<Conversation, StoreError>;

    /// The user's conversations, most recently updated first (ties: newest id first).
    /// `page.before` is a conversation id of this user; an unknown one is `NotFound`.
    async fn list_conversations(
        &self,
        user: UserId,
        page: Page<ConversationId>,
    ) -> Result<Vec<Conversation>, StoreError>;

    async fn get_conversation(&self, user: UserId, id: ConversationId) -> Result<Conversation, StoreError>;

    async fn rename_conversation(
        &self,
        user: UserId,
        id: ConversationId,
        title: &Title,
    ) -> Result<Conversation, StoreError>;

    async fn set_summary(&self, user: UserId, id: ConversationId, summary: &str) -> Result<(), StoreError>;

    /// Deletes the conversation and, in the same transaction, all its messages.
    async fn delete_conversation(&self, user: UserId, id: ConversationId) -> Result<(), StoreError>;
}

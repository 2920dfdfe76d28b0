use super::StoreError;
use crate::{Conversation, ConversationId, Page, Title, UserId};

#[async_trait::async_trait]
pub trait ConversationStore {
    async fn create_conversation(&self, user: UserId, title: Option<&Title>) -> Result<Conversation, StoreError> {
        self.create_conversation_with_model(user, title, None).await
    }

    /// A new conversation whose turns use `model` (`None`: the server's default model).
    async fn create_conversation_with_model(
        &self,
        user: UserId,
        title: Option<&Title>,
        model: Option<&str>,
    ) -> Result<Conversation, StoreError>;

    /// Sets (or, with `None`, clears) the model of the conversation's turns. Not activity:
    /// `updated_at` stays put.
    async fn set_conversation_model(
        &self,
        user: UserId,
        id: ConversationId,
        model: Option<&str>,
    ) -> Result<Conversation, StoreError>;

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

use crate::{Conversation, ConversationId, CoreError, Message, MessageId, Page, Store, Title, UserId};
use std::sync::Arc;

/// Conversation and message management for one signed-in user at a time.
#[derive(Clone)]
pub struct Conversations {
    store: Arc<dyn Store>,
}

impl Conversations {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    pub async fn list(&self, user: UserId, page: Page<ConversationId>) -> Result<Vec<Conversation>, CoreError> {
        self.store
            .list_conversations(user, page)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    pub async fn create(&self, user: UserId, title: Option<Title>) -> Result<Conversation, CoreError> {
        self.store
            .create_conversation(user, title.as_ref())
            .await
            .map_err(CoreError::store("User"))
    }

    pub async fn get(&self, user: UserId, id: ConversationId) -> Result<Conversation, CoreError> {
        self.store
            .get_conversation(user, id)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    pub async fn rename(&self, user: UserId, id: ConversationId, title: Title) -> Result<Conversation, CoreError> {
        self.store
            .rename_conversation(user, id, &title)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    pub async fn delete(&self, user: UserId, id: ConversationId) -> Result<(), CoreError> {
        self.store
            .delete_conversation(user, id)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    pub async fn messages(
        &self,
        user: UserId,
        id: ConversationId,
        page: Page<MessageId>,
    ) -> Result<Vec<Message>, CoreError> {
        self.store
            .list_messages(user, id, page)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    pub async fn delete_message(&self, user: UserId, id: ConversationId, message: MessageId) -> Result<(), CoreError> {
        self.store
            .delete_message(user, id, message)
            .await
            .map_err(CoreError::store("Message"))
    }
}

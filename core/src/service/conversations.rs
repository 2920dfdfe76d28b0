use crate::turn::Turns;
use crate::{Conversation, ConversationId, CoreError, Message, MessageId, Page, Store, Title, UserId};
use std::sync::Arc;

/// Conversation and message management for one signed-in user at a time.
#[derive(Clone)]
pub struct Conversations {
    store: Arc<dyn Store>,
    turns: Option<Turns>,
}

impl Conversations {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, turns: None }
    }

    /// Deletes stop the answer being written in the conversation first (it depends on what is
    /// deleted): no chunk streams after the delete, and nothing is written into what is gone.
    pub fn stopping_answers(mut self, turns: Turns) -> Self {
        self.turns = Some(turns);
        self
    }

    async fn stop_answer(&self, user: UserId, id: ConversationId) -> Result<(), CoreError> {
        match &self.turns {
            Some(turns) => turns.stop_and_wait(user, id).await,
            None => Ok(()),
        }
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
        self.stop_answer(user, id).await?;
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

    /// Deleting any message of a conversation whose answer is being written stops that answer:
    /// the message is part of what it answers (its question, a tool result, or its context).
    pub async fn delete_message(&self, user: UserId, id: ConversationId, message: MessageId) -> Result<(), CoreError> {
        self.stop_answer(user, id).await?;
        self.store
            .delete_message(user, id, message)
            .await
            .map_err(CoreError::store("Message"))
    }
}

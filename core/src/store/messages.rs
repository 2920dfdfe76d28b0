use super::StoreError;
use crate::{ConversationId, Message, MessageId, NewMessage, Page, UserId};

#[async_trait::async_trait]
pub trait MessageStore {
    /// Appends a message and bumps the conversation's `updated_at`, in one transaction.
    /// With a `client_message_id` already used in this conversation, returns the stored message
    /// unchanged instead of inserting a second one.
    async fn append_message(
        &self,
        user: UserId,
        conversation: ConversationId,
        message: &NewMessage,
    ) -> Result<Message, StoreError>;

    /// Messages in the order they were written. With a page, the `limit` messages just before
    /// `before` (still oldest first), so a client can scroll back.
    async fn list_messages(
        &self,
        user: UserId,
        conversation: ConversationId,
        page: Page<MessageId>,
    ) -> Result<Vec<Message>, StoreError>;

    async fn delete_message(&self, user: UserId, conversation: ConversationId, id: MessageId)
    -> Result<(), StoreError>;
}

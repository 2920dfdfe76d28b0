use super::StoreError;
use crate::{BranchPage, ConversationId, Message, MessageId, MessageTree, NewMessage, Page, UserId};

#[async_trait::async_trait]
pub trait MessageStore {
    /// Appends a message where `message.parent` says (after the active leaf, or under a given
    /// message of this conversation: `NotFound` otherwise), makes it the active leaf and bumps the
    /// conversation's `updated_at`, in one transaction.
    /// With a `client_message_id` already used in this conversation, returns the stored message
    /// unchanged instead of inserting a second one.
    async fn append_message(
        &self,
        user: UserId,
        conversation: ConversationId,
        message: &NewMessage,
    ) -> Result<Message, StoreError>;

    /// The active branch, root first ([`MessageTree::branch`]). With a page, the `limit`
    /// messages of it just before `before` (still oldest first), so a client can scroll back.
    async fn list_messages(
        &self,
        user: UserId,
        conversation: ConversationId,
        page: Page<MessageId>,
    ) -> Result<Vec<Message>, StoreError> {
        Ok(self.branch_page(user, conversation, page).await?.messages)
    }

    /// [`MessageStore::list_messages`] with the tree the page was cut from.
    async fn branch_page(
        &self,
        user: UserId,
        conversation: ConversationId,
        page: Page<MessageId>,
    ) -> Result<BranchPage, StoreError>;

    /// Deletes the message and everything under it ([`MessageTree::subtree`]) with their
    /// vectors in the local index, in one transaction; the active leaf moves as
    /// [`MessageTree::leaf_after_delete`] says. Returns the ids deleted.
    async fn delete_message(
        &self,
        user: UserId,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<Vec<MessageId>, StoreError>;

    /// The conversation's tree: every message's place and the active leaf.
    async fn message_tree(&self, user: UserId, conversation: ConversationId) -> Result<MessageTree, StoreError>;

    /// Makes `leaf` (a message of this conversation: `NotFound` otherwise) the active leaf.
    async fn set_active_leaf(
        &self,
        user: UserId,
        conversation: ConversationId,
        leaf: MessageId,
    ) -> Result<(), StoreError>;
}

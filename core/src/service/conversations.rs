use crate::model::{ChatModel, ModelList};
use crate::turn::Turns;
use crate::{
    BranchPage, Conversation, ConversationId, CoreError, Message, MessageId, MessageTree, Page, Store, Title, UserId,
};
use std::sync::Arc;

/// Conversation and message management for one signed-in user at a time.
#[derive(Clone)]
pub struct Conversations {
    store: Arc<dyn Store>,
    turns: Option<Turns>,
    model: Option<Arc<dyn ChatModel>>,
}

/// The longest model name a conversation may choose.
pub const MAX_MODEL_CHARS: usize = 200;

impl Conversations {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            turns: None,
            model: None,
        }
    }

    /// Deletes stop the answer being written in the conversation first (it depends on what is
    /// deleted): no chunk streams after the delete, and nothing is written into what is gone.
    pub fn stopping_answers(mut self, turns: Turns) -> Self {
        self.turns = Some(turns);
        self
    }

    /// The chat model whose [`ChatModel::models`] a conversation chooses from; without one,
    /// no model can be chosen.
    pub fn choosing_from(mut self, model: Option<Arc<dyn ChatModel>>) -> Self {
        self.model = model;
        self
    }

    /// The chat models of this server, and the default one.
    pub async fn models(&self) -> ModelList {
        match &self.model {
            Some(model) => ModelList {
                default: Some(model.model_name().to_owned()),
                models: model.models().await,
            },
            None => ModelList::default(),
        }
    }

    /// `model` if the server can use it, else `Conflict` saying so (`Invalid` when too long).
    async fn known_model(&self, model: &str) -> Result<(), CoreError> {
        if model.chars().count() > MAX_MODEL_CHARS {
            return Err(CoreError::Invalid(format!(
                "model must be at most {MAX_MODEL_CHARS} characters"
            )));
        }
        match self.models().await.find(model) {
            Some(_) => Ok(()),
            // Well-formed, but not one this server is configured with now: a conflict with
            // its state, not bad input.
            None => Err(CoreError::Conflict(format!(
                "Unknown model {model:?}: GET /models lists the models of this server"
            ))),
        }
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

    /// A conversation whose turns use `model` (checked against [`Self::models`]).
    pub async fn create_with_model(
        &self,
        user: UserId,
        title: Option<Title>,
        model: Option<&str>,
    ) -> Result<Conversation, CoreError> {
        if let Some(m) = model {
            self.known_model(m).await?;
        }
        self.store
            .create_conversation_with_model(user, title.as_ref(), model)
            .await
            .map_err(CoreError::store("User"))
    }

    /// Sets the model of the conversation's next turns (`None`: the default one).
    pub async fn set_model(
        &self,
        user: UserId,
        id: ConversationId,
        model: Option<&str>,
    ) -> Result<Conversation, CoreError> {
        if let Some(m) = model {
            self.known_model(m).await?;
        }
        self.store
            .set_conversation_model(user, id, model)
            .await
            .map_err(CoreError::store("Conversation"))
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
        Ok(self.branch_page(user, id, page).await?.messages)
    }

    /// [`Conversations::messages`] with the tree they were cut from (for their siblings).
    pub async fn branch_page(
        &self,
        user: UserId,
        id: ConversationId,
        page: Page<MessageId>,
    ) -> Result<BranchPage, CoreError> {
        self.store
            .branch_page(user, id, page)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    /// Deletes the message and everything after it on its branches (its subtree). Deleting any
    /// message of a conversation whose answer is being written stops that answer first: the
    /// message is part of what it answers (its question, a tool result, or its context).
    /// Returns the ids deleted.
    pub async fn delete_message(
        &self,
        user: UserId,
        id: ConversationId,
        message: MessageId,
    ) -> Result<Vec<MessageId>, CoreError> {
        self.stop_answer(user, id).await?;
        self.store
            .delete_message(user, id, message)
            .await
            .map_err(CoreError::store("Message"))
    }

    /// The conversation's whole tree: every message's place and the active leaf.
    pub async fn tree(&self, user: UserId, id: ConversationId) -> Result<MessageTree, CoreError> {
        self.store
            .message_tree(user, id)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    /// Every message of every branch with an id above `after`, oldest first, at most `limit`.
    pub async fn all_messages(
        &self,
        user: UserId,
        id: ConversationId,
        after: Option<MessageId>,
        limit: u64,
    ) -> Result<Vec<Message>, CoreError> {
        self.store
            .messages_page(user, id, after, limit)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    /// Shows the branch that ends at, or continues from, `message` (following the newest reply
    /// at each step) and returns its leaf. Refused with `Conflict` while an answer is being
    /// written: its reply belongs to the branch it started on.
    pub async fn switch_branch(
        &self,
        user: UserId,
        id: ConversationId,
        message: MessageId,
    ) -> Result<MessageId, CoreError> {
        if let Some(turns) = &self.turns
            && turns.active(user, id).await?.is_some()
        {
            return Err(CoreError::Conflict(crate::turn::BUSY.into()));
        }
        let tree = self.tree(user, id).await?;
        let leaf = tree.leaf_from(message).ok_or(CoreError::NotFound("Message"))?;
        self.store
            .set_active_leaf(user, id, leaf)
            .await
            .map_err(CoreError::store("Message"))?;
        Ok(leaf)
    }
}

use super::SqlStore;
use crate::clock;
use crate::entity::{conversations, messages};
use crate::error::db_err;
use crate::rows::MessageRow;
use chrono::{DateTime, Utc};
use meai_core::store::MessageStore;
use meai_core::{
    BranchPage, ClientMessageId, ConversationId, Message, MessageId, MessageTree, NewMessage, Page, Parent, StoreError,
    UserId, page_of,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TryInsertResult};

/// The conversation's stored active leaf, when it is the user's (`NotFound` otherwise).
async fn stored_leaf(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
) -> Result<Option<MessageId>, StoreError> {
    let row: Option<Option<i64>> = conversations::Entity::find_by_id(conversation.0)
        .filter(conversations::COLUMN.user_id.eq(user.0))
        .select_only()
        .column(conversations::Column::ActiveLeafId)
        .into_tuple()
        .one(db)
        .await
        .map_err(db_err)?;
    row.map(|leaf| leaf.map(MessageId)).ok_or(StoreError::NotFound)
}

async fn set_leaf(
    db: &impl ConnectionTrait,
    conversation: ConversationId,
    leaf: Option<MessageId>,
) -> Result<(), StoreError> {
    conversations::Entity::update_many()
        .col_expr(conversations::Column::ActiveLeafId, Expr::value(leaf.map(|l| l.0)))
        .filter(conversations::COLUMN.id.eq(conversation.0))
        .exec(db)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The newest message of the conversation: the active leaf when none is stored.
async fn newest(db: &impl ConnectionTrait, conversation: ConversationId) -> Result<Option<MessageId>, StoreError> {
    let id: Option<i64> = messages::Entity::find()
        .filter(messages::COLUMN.conversation_id.eq(conversation.0))
        .select_only()
        .column(messages::Column::Id)
        .order_by_desc(messages::Column::Id)
        .into_tuple()
        .one(db)
        .await
        .map_err(db_err)?;
    Ok(id.map(MessageId))
}

/// Where `message` goes: the active leaf (`stored_leaf`, read by the caller), or the given
/// message when it is in the conversation.
async fn parent_in(
    db: &impl ConnectionTrait,
    conversation: ConversationId,
    parent: Parent,
    stored_leaf: Option<MessageId>,
) -> Result<Option<MessageId>, StoreError> {
    match parent {
        Parent::Under(None) => Ok(None),
        Parent::Under(Some(p)) => message_in(db, conversation, p).await.map(Some),
        Parent::Active => match stored_leaf {
            Some(leaf) => Ok(Some(leaf)),
            None => newest(db, conversation).await,
        },
    }
}

/// `id`, when it is a message of the conversation (`NotFound` otherwise).
async fn message_in(
    db: &impl ConnectionTrait,
    conversation: ConversationId,
    id: MessageId,
) -> Result<MessageId, StoreError> {
    let found: Option<i64> = messages::Entity::find_by_id(id.0)
        .filter(messages::COLUMN.conversation_id.eq(conversation.0))
        .select_only()
        .column(messages::Column::Id)
        .into_tuple()
        .one(db)
        .await
        .map_err(db_err)?;
    found.map(MessageId).ok_or(StoreError::NotFound)
}

/// What an append did inside its transaction.
pub(super) enum Appended {
    New(messages::Model),
    /// The client's key was already used in this conversation; nothing was written.
    Existing(messages::Model),
}

async fn by_client_id(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
    key: &ClientMessageId,
) -> Result<Option<messages::Model>, StoreError> {
    messages::Entity::find()
        .filter(messages::COLUMN.conversation_id.eq(conversation.0))
        .filter(messages::COLUMN.client_message_id.eq(key.as_str()))
        .filter(messages::COLUMN.user_id.eq(user.0))
        .one(db)
        .await
        .map_err(db_err)
}

/// Token counts fit the column (an `INTEGER`); no answer comes near its limit.
fn tokens(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(super) async fn append_in(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
    message: &NewMessage,
    now: DateTime<Utc>,
) -> Result<Appended, StoreError> {
    // Bumping activity first doubles as the ownership check and, on PostgreSQL, locks the
    // conversation so appends to it (and a concurrent delete) take turns; it returns the stored
    // leaf the message goes under, read under that lock.
    let bumped = conversations::Entity::update_many()
        .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
        .filter(conversations::COLUMN.id.eq(conversation.0))
        .filter(conversations::COLUMN.user_id.eq(user.0))
        .exec_with_returning(db)
        .await
        .map_err(db_err)?;
    let Some(bumped) = bumped.into_iter().next() else {
        return Err(StoreError::NotFound);
    };
    let parent = parent_in(db, conversation, message.parent, bumped.active_leaf_id.map(MessageId)).await?;
    let insert = messages::Entity::insert(messages::ActiveModel {
        conversation_id: Set(conversation.0),
        user_id: Set(user.0),
        parent_id: Set(parent.map(|p| p.0)),
        kind: Set(message.kind.as_str().to_owned()),
        content: Set(message.content.clone()),
        client_message_id: Set(message.client_message_id.as_ref().map(|k| k.as_str().to_owned())),
        model: Set(message.usage.as_ref().map(|u| u.model.clone())),
        prompt_tokens: Set(message.usage.as_ref().map(|u| tokens(u.prompt_tokens))),
        completion_tokens: Set(message.usage.as_ref().map(|u| tokens(u.completion_tokens))),
        created_at: Set(now),
        ..Default::default()
    });
    let Some(key) = &message.client_message_id else {
        let row = insert.exec_with_returning(db).await.map_err(db_err)?;
        set_leaf(db, conversation, Some(MessageId(row.id))).await?;
        return Ok(Appended::New(row));
    };
    // A concurrent append with the same key may have won since the caller looked.
    let inserted = insert
        .on_conflict_do_nothing_on([messages::Column::ConversationId, messages::Column::ClientMessageId])
        .exec_with_returning(db)
        .await
        .map_err(db_err)?;
    match inserted {
        TryInsertResult::Inserted(row) => {
            set_leaf(db, conversation, Some(MessageId(row.id))).await?;
            Ok(Appended::New(row))
        }
        TryInsertResult::Empty | TryInsertResult::Conflicted => by_client_id(db, user, conversation, key)
            .await?
            .map(Appended::Existing)
            .ok_or_else(|| StoreError::Conflict("client_message_id is in use".into())),
    }
}

#[async_trait::async_trait]
impl MessageStore for SqlStore {
    async fn append_message(
        &self,
        user: UserId,
        conversation: ConversationId,
        message: &NewMessage,
    ) -> Result<Message, StoreError> {
        // A retried send is a read: answer it without taking the write lock.
        if let Some(key) = &message.client_message_id
            && let Some(existing) = by_client_id(&self.db, user, conversation, key).await?
        {
            return existing.try_into();
        }
        let txn = self.begin_write().await?;
        match append_in(txn.conn(), user, conversation, message, clock::now()).await {
            Ok(Appended::New(row)) => {
                let message: Message = txn.finish(Ok(row)).await?.try_into()?;
                self.messages.put(&message);
                Ok(message)
            }
            Ok(Appended::Existing(row)) => {
                // Undo the activity bump: the retry changed nothing.
                txn.rollback().await;
                row.try_into()
            }
            Err(e) => txn.finish(Err(e)).await,
        }
    }

    async fn branch_page(
        &self,
        user: UserId,
        conversation: ConversationId,
        page: Page<MessageId>,
    ) -> Result<BranchPage, StoreError> {
        let tree = crate::tree::read(&self.db, user, conversation).await?;
        let branch = tree.branch();
        let wanted = page_of(&branch, page.before, page.limit);
        if wanted.is_empty() {
            return Ok(BranchPage {
                messages: Vec::new(),
                tree,
            });
        }
        // Committed messages never change, so those in memory are taken as they are; the rest
        // are read and kept.
        let mut found: Vec<Option<Message>> = wanted.iter().map(|&id| self.messages.get(id)).collect();
        let missing = found.iter().position(Option::is_none);
        if let (Some(from), Some(to)) = (missing, found.iter().rposition(Option::is_none)) {
            // Ids grow along a branch (a message is written after its parent), so the missing
            // ones lie in the range of the first and the last: one range scan of the
            // conversation's index rather than an IN list of up to a thousand parameters. Other
            // branches' messages in the range, and those already found, are skipped.
            let rows = messages::Entity::find()
                .select_only()
                .columns(MessageRow::COLUMNS)
                .filter(messages::COLUMN.conversation_id.eq(conversation.0))
                .filter(messages::COLUMN.id.between(wanted[from].0, wanted[to].0))
                .order_by_asc(messages::Column::Id)
                .into_model::<MessageRow>()
                .all(&self.db)
                .await
                .map_err(db_err)?;
            for row in rows {
                let Ok(at) = wanted.binary_search(&MessageId(row.0.id)) else {
                    continue;
                };
                if found[at].is_none() {
                    let message = Message::try_from(row.0)?;
                    self.messages.put(&message);
                    found[at] = Some(message);
                }
            }
        }
        // A message of the tree deleted since it was read is left out.
        let messages = found.into_iter().flatten().collect();
        Ok(BranchPage { messages, tree })
    }

    async fn delete_message(
        &self,
        user: UserId,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<Vec<MessageId>, StoreError> {
        // The subtree and its vectors (the local vector index) go in one transaction.
        let txn = self.begin_write().await?;
        let outcome = async {
            let tree = crate::tree::read(txn.conn(), user, conversation).await?;
            let gone = tree.subtree(id);
            if gone.is_empty() {
                return Err(StoreError::NotFound);
            }
            let raw: Vec<i64> = gone.iter().map(|m| m.0).collect();
            for chunk in raw.chunks(DELETE_CHUNK) {
                messages::Entity::delete_many()
                    .filter(messages::COLUMN.conversation_id.eq(conversation.0))
                    .filter(messages::COLUMN.user_id.eq(user.0))
                    .filter(messages::COLUMN.id.is_in(chunk.iter().copied()))
                    .exec(txn.conn())
                    .await
                    .map_err(db_err)?;
                crate::vectors::delete_for_messages(txn.conn(), user, chunk).await?;
            }
            set_leaf(txn.conn(), conversation, tree.leaf_after_delete(id)).await?;
            Ok(gone)
        }
        .await;
        let gone = txn.finish(outcome).await?;
        let raw: Vec<i64> = gone.iter().map(|m| m.0).collect();
        self.vectors.removed(user.0, &raw);
        self.messages.forget(&raw);
        Ok(gone)
    }

    async fn message_tree(&self, user: UserId, conversation: ConversationId) -> Result<MessageTree, StoreError> {
        crate::tree::read(&self.db, user, conversation).await
    }

    async fn set_active_leaf(
        &self,
        user: UserId,
        conversation: ConversationId,
        leaf: MessageId,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let outcome = async {
            stored_leaf(txn.conn(), user, conversation).await?;
            message_in(txn.conn(), conversation, leaf).await?;
            set_leaf(txn.conn(), conversation, Some(leaf)).await
        }
        .await;
        txn.finish(outcome).await
    }
}

/// Ids per DELETE of a subtree (well under SQLite's parameter limit).
const DELETE_CHUNK: usize = 500;

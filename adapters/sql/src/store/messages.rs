use super::SqlStore;
use crate::clock;
use crate::entity::{conversations, messages};
use crate::error::db_err;
use chrono::{DateTime, Utc};
use meai_core::store::MessageStore;
use meai_core::{ClientMessageId, ConversationId, Message, MessageId, NewMessage, Page, StoreError, UserId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, FromQueryResult, Iterable, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, TryInsertResult,
};

/// A row of "the conversation, left-joined with its messages": `owner` proves the conversation
/// is the user's even when it has no (matching) messages.
#[derive(Debug, FromQueryResult)]
struct Slot {
    #[allow(dead_code)]
    owner: i64,
    #[sea_orm(nested)]
    message: Option<messages::Model>,
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
    // conversation so appends to it (and a concurrent delete) take turns.
    let bumped = conversations::Entity::update_many()
        .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
        .filter(conversations::COLUMN.id.eq(conversation.0))
        .filter(conversations::COLUMN.user_id.eq(user.0))
        .exec(db)
        .await
        .map_err(db_err)?;
    if bumped.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    let insert = messages::Entity::insert(messages::ActiveModel {
        conversation_id: Set(conversation.0),
        user_id: Set(user.0),
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
        return Ok(Appended::New(insert.exec_with_returning(db).await.map_err(db_err)?));
    };
    // A concurrent append with the same key may have won since the caller looked.
    let inserted = insert
        .on_conflict_do_nothing_on([messages::Column::ConversationId, messages::Column::ClientMessageId])
        .exec_with_returning(db)
        .await
        .map_err(db_err)?;
    match inserted {
        TryInsertResult::Inserted(row) => Ok(Appended::New(row)),
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
            Ok(Appended::New(row)) => txn.finish(Ok(row)).await?.try_into(),
            Ok(Appended::Existing(row)) => {
                // Undo the activity bump: the retry changed nothing.
                txn.rollback().await;
                row.try_into()
            }
            Err(e) => txn.finish(Err(e)).await,
        }
    }

    async fn list_messages(
        &self,
        user: UserId,
        conversation: ConversationId,
        page: Page<MessageId>,
    ) -> Result<Vec<Message>, StoreError> {
        // One query for both the ownership check and the page: the conversation left-joined
        // with the wanted messages yields no row at all only when it is not the user's.
        let mut join = conversations::Relation::Messages.def();
        if let Some(before) = page.before {
            join = join.on_condition(move |_, messages_table| {
                Expr::col((messages_table, messages::Column::Id)).lt(before.0).into()
            });
        }
        let mut query = conversations::Entity::find_by_id(conversation.0)
            .filter(conversations::COLUMN.user_id.eq(user.0))
            .select_only()
            .column_as(conversations::Column::Id, "owner")
            .columns(messages::Column::iter())
            .join(JoinType::LeftJoin, join);
        // With a limit, the newest `limit` of the wanted messages, turned back to oldest first.
        query = match page.limit {
            Some(limit) => query.order_by_desc(messages::Column::Id).limit(limit),
            None => query.order_by_asc(messages::Column::Id),
        };
        let slots: Vec<Slot> = query.into_model().all(&self.db).await.map_err(db_err)?;
        if slots.is_empty() {
            return Err(StoreError::NotFound);
        }
        let mut found = slots
            .into_iter()
            .filter_map(|slot| slot.message)
            .map(Message::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        if page.limit.is_some() {
            found.reverse();
        }
        Ok(found)
    }

    async fn delete_message(
        &self,
        user: UserId,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<(), StoreError> {
        let delete = messages::Entity::delete_many()
            .filter(messages::COLUMN.id.eq(id.0))
            .filter(messages::COLUMN.conversation_id.eq(conversation.0))
            .filter(messages::COLUMN.user_id.eq(user.0));
        // The message's vector goes in the same transaction (the local vector index).
        let txn = self.begin_write().await?;
        let outcome = async {
            match delete.exec(txn.conn()).await.map_err(db_err)?.rows_affected {
                0 => Err(StoreError::NotFound),
                _ => crate::vectors::delete_for_messages(txn.conn(), user, &[id.0]).await,
            }
        }
        .await;
        txn.finish(outcome).await?;
        self.vectors.removed(user.0, &[id.0]);
        Ok(())
    }
}

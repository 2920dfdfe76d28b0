use super::SqlStore;
use crate::clock;
use crate::entity::{conversations, messages};
use crate::error::db_err;
use crate::rows::MessageRow;
use chrono::{DateTime, Utc};
use meai_core::store::MessageStore;
use meai_core::{
    BranchPage, ClientMessageId, ConversationId, Message, MessageId, MessageKind, MessageTree, NewMessage, Page,
    Parent, StoreError, UserId, page_of,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};

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

/// What an append did.
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

/// An append in one statement (the same text on SQLite and PostgreSQL): the ownership check,
/// the parent, the insert, and (by the `messages_become_leaf` trigger) the conversation's new
/// leaf and activity. Nothing is written, and no row comes back, when the conversation is not
/// the user's, the parent is not in it, or the client's key was used in it before.
fn append_sql(parent: Parent, backend: DbBackend) -> String {
    let parent_id = match parent {
        Parent::Active => {
            "COALESCE(c.active_leaf_id, (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = c.id))"
        }
        Parent::Under(None) => "NULL",
        Parent::Under(Some(_)) => "$10",
    };
    let parent_in_conversation = match parent {
        Parent::Under(Some(_)) => {
            " AND EXISTS (SELECT 1 FROM messages m WHERE m.id = $10 AND m.conversation_id = c.id)"
        }
        _ => "",
    };
    // PostgreSQL: appends to one conversation (and its delete) take turns on its row, so two
    // appends under the active leaf never both read the same leaf. SQLite has one writer.
    let lock = match backend {
        DbBackend::Postgres => " FOR UPDATE OF c",
        _ => "",
    };
    format!(
        "INSERT INTO messages (conversation_id, user_id, parent_id, type, content, client_message_id, \
         model, prompt_tokens, completion_tokens, created_at) \
         SELECT c.id, c.user_id, {parent_id}, $3, $4, $5, $6, $7, $8, $9 FROM conversations c \
         WHERE c.id = $1 AND c.user_id = $2{parent_in_conversation}{lock} \
         ON CONFLICT (conversation_id, client_message_id) DO NOTHING \
         RETURNING id, conversation_id, user_id, type, content, client_message_id, parent_id, model, \
         prompt_tokens, completion_tokens, created_at"
    )
}

pub(super) async fn append_in(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
    message: &NewMessage,
    now: DateTime<Utc>,
) -> Result<Appended, StoreError> {
    let backend = db.get_database_backend();
    let mut values: Vec<Value> = vec![
        conversation.0.into(),
        user.0.into(),
        message.kind.as_str().into(),
        message.content.as_str().into(),
        message.client_message_id.as_ref().map(|k| k.as_str().to_owned()).into(),
        message.usage.as_ref().map(|u| u.model.clone()).into(),
        message.usage.as_ref().map(|u| tokens(u.prompt_tokens)).into(),
        message.usage.as_ref().map(|u| tokens(u.completion_tokens)).into(),
        now.into(),
    ];
    if let Parent::Under(Some(p)) = message.parent {
        values.push(p.0.into());
    }
    let statement = Statement::from_sql_and_values(backend, append_sql(message.parent, backend), values);
    match db.query_one_raw(statement).await.map_err(db_err)? {
        Some(row) => Ok(Appended::New(
            MessageRow::from_query_result(&row, "").map_err(db_err)?.0,
        )),
        None => not_appended(db, user, conversation, message).await,
    }
}

/// Why an append wrote nothing: the client's key names an earlier message (a retried send:
/// that message), or the conversation or the parent is not there (`NotFound`).
async fn not_appended(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
    message: &NewMessage,
) -> Result<Appended, StoreError> {
    if let Some(key) = &message.client_message_id
        && let Some(existing) = by_client_id(db, user, conversation, key).await?
    {
        return Ok(Appended::Existing(existing));
    }
    stored_leaf(db, user, conversation).await?;
    if let Parent::Under(Some(parent)) = message.parent {
        message_in(db, conversation, parent).await?;
    }
    match message.client_message_id {
        // The key's message went between the insert and the look (a concurrent delete).
        Some(_) => Err(StoreError::Conflict("client_message_id is in use".into())),
        None => Err(StoreError::NotFound),
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
        // One statement, atomic on its own: on SQLite the write turn lasts one round trip. A
        // person's message is waited on (their answer starts after it): it goes first.
        let _gate = match message.kind {
            MessageKind::Human => self.write_gate_first().await,
            _ => self.write_gate().await,
        };
        match append_in(&self.db, user, conversation, message, clock::now()).await? {
            Appended::New(row) => {
                let message = Message::try_from(row)?;
                self.messages.put(&message);
                Ok(message)
            }
            Appended::Existing(row) => row.try_into(),
        }
    }

    async fn branch_page(
        &self,
        user: UserId,
        conversation: ConversationId,
        page: Page<MessageId>,
    ) -> Result<BranchPage, StoreError> {
        let tree = crate::tree::read_cached(&self.db, &self.trees, &self.tree_reads, user, conversation).await?;
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
        crate::tree::read_cached(&self.db, &self.trees, &self.tree_reads, user, conversation).await
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

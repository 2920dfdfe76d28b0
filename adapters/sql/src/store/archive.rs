use super::SqlStore;
use crate::clock;
use crate::entity::{conversations, import_keys, messages};
use crate::error::db_err;
use crate::mapping;
use meai_core::store::{ArchiveStore, ImportKey, Imported, ImportedConversation};
use meai_core::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// Rows per INSERT of imported messages (6 columns each, well under SQLite's parameter limit).
const INSERT_CHUNK: usize = 500;

async fn import_in(
    db: &impl ConnectionTrait,
    user: UserId,
    key: &ImportKey,
    imported: &ImportedConversation,
) -> Result<Imported, StoreError> {
    let earlier = import_keys::Entity::find()
        .filter(import_keys::Column::UserId.eq(user.0))
        .filter(import_keys::Column::Key.eq(key.as_str()))
        .one(db)
        .await
        .map_err(db_err)?;
    if let Some(earlier) = &earlier {
        let still_there = conversations::Entity::find_by_id(earlier.conversation_id)
            .filter(conversations::Column::UserId.eq(user.0))
            .one(db)
            .await
            .map_err(db_err)?;
        if still_there.is_some() {
            return Ok(Imported::Existing(ConversationId(earlier.conversation_id)));
        }
        // Imported before, then deleted by the person: importing again brings it back.
        import_keys::Entity::delete_by_id(earlier.id)
            .exec(db)
            .await
            .map_err(db_err)?;
    }
    let conversation = conversations::Entity::insert(conversations::ActiveModel {
        user_id: Set(user.0),
        title: Set(imported.title.as_ref().map(|t| t.as_str().to_owned())),
        summary_text: Set(imported.summary.clone()),
        created_at: Set(clock::stored(imported.created_at)),
        updated_at: Set(clock::stored(imported.updated_at)),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await
    .map_err(db_err)?;
    for chunk in imported.messages.chunks(INSERT_CHUNK) {
        let rows = chunk.iter().map(|m| messages::ActiveModel {
            conversation_id: Set(conversation.id),
            user_id: Set(user.0),
            kind: Set(m.kind.as_str().to_owned()),
            content: Set(m.content.clone()),
            client_message_id: Set(None),
            created_at: Set(clock::stored(m.created_at)),
            ..Default::default()
        });
        messages::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .map_err(db_err)?;
    }
    import_keys::Entity::insert(import_keys::ActiveModel {
        user_id: Set(user.0),
        key: Set(key.as_str().to_owned()),
        conversation_id: Set(conversation.id),
        imported_at: Set(clock::now()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await
    .map_err(db_err)?;
    let ids: Vec<i64> = messages::Entity::find()
        .filter(messages::Column::ConversationId.eq(conversation.id))
        .select_only()
        .column(messages::Column::Id)
        .order_by_asc(messages::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .map_err(db_err)?;
    place(db, conversation.id, imported, &ids).await?;
    let stored = messages::Entity::find()
        .filter(messages::Column::ConversationId.eq(conversation.id))
        .order_by_asc(messages::Column::Id)
        .all(db)
        .await
        .map_err(db_err)?;
    Ok(Imported::New {
        conversation: conversation.try_into()?,
        messages: mapping::all(stored)?,
    })
}

/// Puts the imported messages (`ids`, in list order) in their tree: first all in one branch in
/// one statement (what nearly every import is), then the messages that go elsewhere one by one,
/// then the active leaf and the activity time.
async fn place(
    db: &impl ConnectionTrait,
    conversation: i64,
    imported: &ImportedConversation,
    ids: &[i64],
) -> Result<(), StoreError> {
    if ids.len() != imported.messages.len() {
        return Err(StoreError::backend(std::io::Error::other(
            "the imported messages were not all stored",
        )));
    }
    // The conversation id is this server's own integer, not input.
    let one_branch = format!(
        "UPDATE messages SET parent_id = (SELECT MAX(earlier.id) FROM messages AS earlier \
         WHERE earlier.conversation_id = messages.conversation_id AND earlier.id < messages.id) \
         WHERE conversation_id = {conversation}"
    );
    db.execute_unprepared(&one_branch).await.map_err(db_err)?;
    for (i, parent) in imported.parents().enumerate() {
        if parent == i.checked_sub(1) {
            continue;
        }
        messages::Entity::update_many()
            .col_expr(messages::Column::ParentId, Expr::value(parent.map(|p| ids[p])))
            .filter(messages::Column::Id.eq(ids[i]))
            .exec(db)
            .await
            .map_err(db_err)?;
    }
    // Every insert made its message the leaf and the activity time (a trigger); the import's
    // own leaf and activity go last.
    conversations::Entity::update_many()
        .col_expr(
            conversations::Column::ActiveLeafId,
            Expr::value(imported.leaf().map(|l| ids[l])),
        )
        .col_expr(
            conversations::Column::UpdatedAt,
            Expr::value(clock::stored(imported.updated_at)),
        )
        .filter(conversations::Column::Id.eq(conversation))
        .exec(db)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait::async_trait]
impl ArchiveStore for SqlStore {
    async fn conversations_page(
        &self,
        user: UserId,
        after: Option<ConversationId>,
        limit: u64,
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut query = conversations::Entity::find()
            .filter(conversations::Column::UserId.eq(user.0))
            .order_by_asc(conversations::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(conversations::Column::Id.gt(after.0));
        }
        mapping::all(query.all(&self.db).await.map_err(db_err)?)
    }

    async fn messages_page(
        &self,
        user: UserId,
        conversation: ConversationId,
        after: Option<MessageId>,
        limit: u64,
    ) -> Result<Vec<Message>, StoreError> {
        super::conversations::owned(&self.db, user, conversation).await?;
        let mut query = messages::Entity::find()
            .filter(messages::Column::ConversationId.eq(conversation.0))
            .filter(messages::Column::UserId.eq(user.0))
            .order_by_asc(messages::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(messages::Column::Id.gt(after.0));
        }
        mapping::all(query.all(&self.db).await.map_err(db_err)?)
    }

    async fn import_conversation(
        &self,
        user: UserId,
        key: &ImportKey,
        imported: &ImportedConversation,
    ) -> Result<Imported, StoreError> {
        let txn = self.begin_write().await?;
        let outcome = import_in(txn.conn(), user, key, imported).await;
        txn.finish(outcome).await
    }
}

use super::SqlStore;
use super::conversations::owned;
use super::messages::{Appended, append_in};
use crate::clock;
use crate::entity::answer_drafts;
use crate::error::db_err;
use meai_core::store::{Draft, DraftId, DraftStore};
use meai_core::{ConversationId, Message, NewMessage, StoreError, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// Run ids are `u64`s that start at 1 and only grow; the column is a signed 64-bit integer.
fn run_column(run: u64) -> i64 {
    i64::try_from(run).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl DraftStore for SqlStore {
    async fn open_draft(&self, user: UserId, conversation: ConversationId, run: u64) -> Result<DraftId, StoreError> {
        let txn = self.begin_write().await?;
        let outcome = async {
            owned(txn.conn(), user, conversation).await?;
            let row = answer_drafts::Entity::insert(answer_drafts::ActiveModel {
                conversation_id: Set(conversation.0),
                user_id: Set(user.0),
                run_id: Set(run_column(run)),
                content: Set(String::new()),
                updated_at: Set(clock::now()),
                ..Default::default()
            })
            .exec_with_returning(txn.conn())
            .await
            .map_err(db_err)?;
            Ok(DraftId(row.id))
        }
        .await;
        txn.finish(outcome).await
    }

    async fn save_draft(&self, user: UserId, draft: DraftId, content: &str) -> Result<(), StoreError> {
        let update = answer_drafts::Entity::update_many()
            .col_expr(answer_drafts::Column::Content, Expr::value(content))
            .col_expr(answer_drafts::Column::UpdatedAt, Expr::value(clock::now()))
            .filter(answer_drafts::COLUMN.id.eq(draft.0))
            .filter(answer_drafts::COLUMN.user_id.eq(user.0));
        let _gate = self.write_gate().await;
        match update.exec(self.connection()).await.map_err(db_err)?.rows_affected {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn finish_draft(
        &self,
        user: UserId,
        draft: DraftId,
        message: Option<&NewMessage>,
    ) -> Result<Option<Message>, StoreError> {
        let txn = self.begin_write().await?;
        let outcome = async {
            // Whoever deletes the row stores the answer: a concurrent finisher (PostgreSQL waits
            // on the row lock) then deletes nothing and stores nothing.
            let removed = answer_drafts::Entity::delete_many()
                .filter(answer_drafts::COLUMN.id.eq(draft.0))
                .filter(answer_drafts::COLUMN.user_id.eq(user.0))
                .exec_with_returning(txn.conn())
                .await
                .map_err(db_err)?;
            let Some(row) = removed.into_iter().next() else {
                return Err(StoreError::NotFound);
            };
            let Some(message) = message else { return Ok(None) };
            match append_in(
                txn.conn(),
                user,
                ConversationId(row.conversation_id),
                message,
                clock::now(),
            )
            .await?
            {
                Appended::New(m) | Appended::Existing(m) => Ok(Some(m)),
            }
        }
        .await;
        let answer = txn.finish(outcome).await?.map(Message::try_from).transpose()?;
        if let Some(answer) = &answer {
            self.messages.put(answer);
        }
        Ok(answer)
    }

    async fn conversation_draft(
        &self,
        user: UserId,
        conversation: ConversationId,
    ) -> Result<Option<Draft>, StoreError> {
        owned(self.connection(), user, conversation).await?;
        let row = answer_drafts::Entity::find()
            .filter(answer_drafts::COLUMN.conversation_id.eq(conversation.0))
            .filter(answer_drafts::COLUMN.user_id.eq(user.0))
            .one(self.connection())
            .await
            .map_err(db_err)?;
        Ok(row.map(Draft::from))
    }

    async fn all_drafts(&self, limit: u64) -> Result<Vec<Draft>, StoreError> {
        let rows = answer_drafts::Entity::find()
            .order_by_asc(answer_drafts::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(Draft::from).collect())
    }
}

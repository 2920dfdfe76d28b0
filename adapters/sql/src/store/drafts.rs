use super::SqlStore;
use super::messages::{Appended, append_in};
use crate::clock;
use crate::entity::{answer_drafts, conversations};
use crate::error::db_err;
use meai_core::store::{Draft, DraftId, DraftStore};
use meai_core::{ConversationId, Message, NewMessage, StoreError, UserId};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};

/// Run ids are `u64`s that start at 1 and only grow; the column is a signed 64-bit integer.
fn run_column(run: u64) -> i64 {
    i64::try_from(run).unwrap_or(i64::MAX)
}

/// A new empty draft of the user's conversation; no row when the conversation is not theirs.
const OPEN_DRAFT: &str = "INSERT INTO answer_drafts (conversation_id, user_id, run_id, content, updated_at) \
     SELECT c.id, c.user_id, $3, '', $4 FROM conversations c WHERE c.id = $1 AND c.user_id = $2 RETURNING id";

#[async_trait::async_trait]
impl DraftStore for SqlStore {
    async fn open_draft(&self, user: UserId, conversation: ConversationId, run: u64) -> Result<DraftId, StoreError> {
        // The ownership check and the insert in one statement: on SQLite the write turn lasts
        // one round trip.
        let backend = self.db.get_database_backend();
        let statement = Statement::from_sql_and_values(
            backend,
            OPEN_DRAFT,
            [
                conversation.0.into(),
                user.0.into(),
                run_column(run).into(),
                clock::now().into(),
            ],
        );
        // The draft exists before the answer's first token is published: it goes first.
        let _gate = self.write_gate_first().await;
        let row = self
            .db
            .query_one_raw(statement)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        Ok(DraftId(row.try_get_by_index(0).map_err(db_err)?))
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
        // One round trip (every turn asks before it starts): no row when the conversation is not
        // the user's, a row of nulls when it has no draft.
        let (c, d) = (conversations::Entity, answer_drafts::Entity);
        let query = Query::select()
            .column((d, answer_drafts::Column::Id))
            .column((d, answer_drafts::Column::RunId))
            .column((d, answer_drafts::Column::Content))
            .column((d, answer_drafts::Column::UpdatedAt))
            .from(c)
            .left_join(
                d,
                Condition::all()
                    .add(Expr::col((d, answer_drafts::Column::ConversationId)).equals((c, conversations::Column::Id)))
                    .add(Expr::col((d, answer_drafts::Column::UserId)).eq(user.0)),
            )
            .and_where(Expr::col((c, conversations::Column::Id)).eq(conversation.0))
            .and_where(Expr::col((c, conversations::Column::UserId)).eq(user.0))
            .to_owned();
        let row = self
            .connection()
            .query_one(&query)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        let Some(id) = row.try_get_by_index::<Option<i64>>(0).map_err(db_err)? else {
            return Ok(None);
        };
        Ok(Some(Draft::from(answer_drafts::Model {
            id,
            conversation_id: conversation.0,
            user_id: user.0,
            run_id: row.try_get_by_index(1).map_err(db_err)?,
            content: row.try_get_by_index(2).map_err(db_err)?,
            updated_at: row.try_get_by_index(3).map_err(db_err)?,
        })))
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

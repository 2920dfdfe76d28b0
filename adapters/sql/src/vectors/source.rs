//! [`MessageSource`] on the store's tables: messages by id and by keyword, and a full scan.

use crate::entity::{conversations, messages};
use crate::error::db_err;
use crate::store::SqlStore;
use meai_core::memory::{FoundMessage, MessageSource};
use meai_core::{Message, MessageId, MessageKind, StoreError, UserId};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// Only what people and the assistant said is searched (tool output is noise here).
const SEARCHED_KINDS: [&str; 2] = ["Human", "AI"];

fn found(rows: Vec<(messages::Model, Option<conversations::Model>)>) -> Result<Vec<FoundMessage>, StoreError> {
    rows.into_iter()
        .map(|(m, c)| {
            Ok(FoundMessage {
                message: Message::try_from(m)?,
                conversation_title: c.and_then(|c| c.title),
            })
        })
        .collect()
}

/// `%term%`, with LIKE's wildcards in the term taken literally.
fn contains_pattern(term: &str) -> LikeExpr {
    let escaped: String = term
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

#[async_trait::async_trait]
impl MessageSource for SqlStore {
    async fn messages_by_ids(&self, user: UserId, ids: &[MessageId]) -> Result<Vec<FoundMessage>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = messages::Entity::find()
            .filter(messages::Column::UserId.eq(user.0))
            .filter(messages::Column::Id.is_in(ids.iter().map(|m| m.0)))
            .find_also_related(conversations::Entity)
            .all(self.connection())
            .await
            .map_err(db_err)?;
        found(rows)
    }

    async fn messages_matching(
        &self,
        user: UserId,
        terms: &[String],
        limit: usize,
    ) -> Result<Vec<FoundMessage>, StoreError> {
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let any = terms.iter().fold(Condition::any(), |any, term| {
            let lowered = Func::lower(Expr::col((messages::Entity, messages::Column::Content)));
            any.add(Expr::expr(lowered).like(contains_pattern(&term.to_lowercase())))
        });
        let rows = messages::Entity::find()
            .filter(messages::Column::UserId.eq(user.0))
            .filter(messages::Column::Kind.is_in(SEARCHED_KINDS))
            .filter(any)
            .order_by_desc(messages::Column::Id)
            .limit(limit as u64)
            .find_also_related(conversations::Entity)
            .all(self.connection())
            .await
            .map_err(db_err)?;
        found(rows)
    }

    async fn messages_after(&self, after: Option<MessageId>, limit: usize) -> Result<Vec<Message>, StoreError> {
        let mut query = messages::Entity::find()
            .filter(messages::Column::Kind.is_in([MessageKind::Human.as_str(), MessageKind::Ai.as_str()]))
            .order_by_asc(messages::Column::Id)
            .limit(limit as u64);
        if let Some(after) = after {
            query = query.filter(messages::Column::Id.gt(after.0));
        }
        query
            .all(self.connection())
            .await
            .map_err(db_err)?
            .into_iter()
            .map(Message::try_from)
            .collect()
    }
}

//! [`MessageSource`] on the store's tables: messages by id, by keyword (through the full-text
//! index of migration `m20261201_000010_message_search`), and a full scan.

use crate::entity::{conversations, messages};
use crate::error::db_err;
use crate::store::SqlStore;
use meai_core::memory::{FoundMessage, MessageSource};
use meai_core::{Message, MessageId, MessageKind, StoreError, UserId};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};

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

/// Each term as the words the indexes tokenize it into (letters and digits, lower case); terms
/// without any are dropped.
fn words_of(terms: &[String]) -> Vec<Vec<String>> {
    terms
        .iter()
        .map(|t| {
            t.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .filter(|words| !words.is_empty())
        .collect()
}

/// Any term; within a term, all its words; each word as a prefix. Words are alphanumeric, so
/// quoting them is all FTS5 needs.
fn fts5_query(terms: &[Vec<String>]) -> String {
    let term = |words: &Vec<String>| {
        let all: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
        format!("({})", all.join(" AND "))
    };
    terms.iter().map(term).collect::<Vec<_>>().join(" OR ")
}

/// The same query for PostgreSQL's `to_tsquery`.
fn tsquery(terms: &[Vec<String>]) -> String {
    let term = |words: &Vec<String>| {
        let all: Vec<String> = words.iter().map(|w| format!("{w}:*")).collect();
        format!("({})", all.join(" & "))
    };
    terms.iter().map(term).collect::<Vec<_>>().join(" | ")
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
        let words = words_of(terms);
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        // The index finds the ids (newest first); the rows come as for any lookup by id.
        let kinds = SEARCHED_KINDS.map(|k| format!("'{k}'")).join(", ");
        let backend = self.connection().get_database_backend();
        let statement = match backend {
            DbBackend::Sqlite => Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT m.id FROM messages_fts f JOIN messages m ON m.id = f.rowid \
                     WHERE messages_fts MATCH ? AND m.user_id = ? AND m.\"type\" IN ({kinds}) \
                     ORDER BY f.rowid DESC LIMIT ?"
                ),
                [fts5_query(&words).into(), user.0.into(), (limit as i64).into()],
            ),
            _ => Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT id FROM messages WHERE user_id = $1 AND \"type\" IN ({kinds}) \
                     AND content_tsv @@ to_tsquery('simple', $2) ORDER BY id DESC LIMIT $3"
                ),
                [user.0.into(), tsquery(&words).into(), (limit as i64).into()],
            ),
        };
        let ids: Vec<i64> = self
            .connection()
            .query_all_raw(statement)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| row.try_get_by_index::<i64>(0))
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = messages::Entity::find()
            .filter(messages::Column::UserId.eq(user.0))
            .filter(messages::Column::Id.is_in(ids))
            .order_by_desc(messages::Column::Id)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_match_any_term_all_its_words_by_prefix() {
        let terms = words_of(&["Lisbon".into(), "e-mail".into(), "%".into()]);
        assert_eq!(terms, vec![vec!["lisbon".to_owned()], vec!["e".into(), "mail".into()]]);
        assert_eq!(fts5_query(&terms), r#"("lisbon"*) OR ("e"* AND "mail"*)"#);
        assert_eq!(tsquery(&terms), "(lisbon:*) | (e:* & mail:*)");
    }
}

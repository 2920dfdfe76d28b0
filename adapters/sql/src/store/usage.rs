//! Usage: the tokens of a user's answers, summed per UTC day, model and conversation.

use super::SqlStore;
use crate::error::db_err;
use crate::mapping::corrupt;
use chrono::{DateTime, NaiveDate, Utc};
use meai_core::store::UsageStore;
use meai_core::{ConversationId, StoreError, UsageEntry, UserId};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

#[async_trait::async_trait]
impl UsageStore for SqlStore {
    async fn usage(&self, user: UserId, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UsageEntry>, StoreError> {
        let backend = self.db.get_database_backend();
        // Times are stored in UTC: SQLite as text starting with the date.
        let (day, p) = match backend {
            DbBackend::Sqlite => ("substr(created_at, 1, 10)", ["?", "?", "?"]),
            _ => (
                "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
                ["$1", "$2", "$3"],
            ),
        };
        let sql = format!(
            "SELECT {day} AS day, model, conversation_id, \
             CAST(SUM(prompt_tokens) AS BIGINT) AS prompt_tokens, \
             CAST(SUM(completion_tokens) AS BIGINT) AS completion_tokens, \
             CAST(COUNT(*) AS BIGINT) AS messages \
             FROM messages WHERE user_id = {} AND created_at >= {} AND created_at < {} \
             AND model IS NOT NULL AND prompt_tokens IS NOT NULL AND completion_tokens IS NOT NULL \
             GROUP BY {day}, model, conversation_id",
            p[0], p[1], p[2]
        );
        let statement = Statement::from_sql_and_values(backend, sql, [user.0.into(), from.into(), to.into()]);
        let rows = self.db.query_all_raw(statement).await.map_err(db_err)?;
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        rows.into_iter()
            .map(|row| {
                let day: String = row.try_get("", "day").map_err(db_err)?;
                Ok(UsageEntry {
                    day: NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                        .map_err(|_| corrupt("messages", "created_at", &day))?,
                    model: row.try_get("", "model").map_err(db_err)?,
                    conversation_id: ConversationId(row.try_get("", "conversation_id").map_err(db_err)?),
                    prompt_tokens: count(row.try_get("", "prompt_tokens").map_err(db_err)?),
                    completion_tokens: count(row.try_get("", "completion_tokens").map_err(db_err)?),
                    messages: count(row.try_get("", "messages").map_err(db_err)?),
                })
            })
            .collect()
    }
}

//! Rows of the hot lists read by column position. The derived models look every column up by
//! name (a hash of the name per column per row), which costs several times more on long pages
//! than the query itself; these read the same columns, selected in their `COLUMNS` order.

use crate::entity::{conversations, messages};
use sea_orm::{DbErr, FromQueryResult, QueryResult};

/// A `messages` row.
pub(crate) struct MessageRow(pub messages::Model);

impl MessageRow {
    pub const COLUMNS: [messages::Column; 11] = [
        messages::Column::Id,
        messages::Column::ConversationId,
        messages::Column::UserId,
        messages::Column::Kind,
        messages::Column::Content,
        messages::Column::ClientMessageId,
        messages::Column::ParentId,
        messages::Column::Model,
        messages::Column::PromptTokens,
        messages::Column::CompletionTokens,
        messages::Column::CreatedAt,
    ];
}

impl FromQueryResult for MessageRow {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        Ok(Self(messages::Model {
            id: row.try_get_by_index(0)?,
            conversation_id: row.try_get_by_index(1)?,
            user_id: row.try_get_by_index(2)?,
            kind: row.try_get_by_index(3)?,
            content: row.try_get_by_index(4)?,
            client_message_id: row.try_get_by_index(5)?,
            parent_id: row.try_get_by_index(6)?,
            model: row.try_get_by_index(7)?,
            prompt_tokens: row.try_get_by_index(8)?,
            completion_tokens: row.try_get_by_index(9)?,
            created_at: row.try_get_by_index(10)?,
        }))
    }
}

/// A `conversations` row.
pub(crate) struct ConversationRow(pub conversations::Model);

impl ConversationRow {
    pub const COLUMNS: [conversations::Column; 8] = [
        conversations::Column::Id,
        conversations::Column::UserId,
        conversations::Column::Title,
        conversations::Column::SummaryText,
        conversations::Column::Model,
        conversations::Column::ActiveLeafId,
        conversations::Column::CreatedAt,
        conversations::Column::UpdatedAt,
    ];
}

impl FromQueryResult for ConversationRow {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        Ok(Self(conversations::Model {
            id: row.try_get_by_index(0)?,
            user_id: row.try_get_by_index(1)?,
            title: row.try_get_by_index(2)?,
            summary_text: row.try_get_by_index(3)?,
            model: row.try_get_by_index(4)?,
            active_leaf_id: row.try_get_by_index(5)?,
            created_at: row.try_get_by_index(6)?,
            updated_at: row.try_get_by_index(7)?,
        }))
    }
}

//! Rows to domain values. A row the domain rejects (say, an unknown message type) is reported
//! as a backend failure naming the column, never silently patched up.

use crate::entity::{answer_drafts, conversations, memories, messages, pending_logins, toolkit_connections, users};
use crate::error::SqlError;
use meai_core::store::{Draft, DraftId};
use meai_core::*;

pub(crate) fn corrupt(table: &'static str, column: &'static str, value: &str) -> StoreError {
    SqlError::CorruptRow {
        table,
        column,
        value: value.to_owned(),
    }
    .into()
}

impl TryFrom<users::Model> for User {
    type Error = StoreError;

    fn try_from(row: users::Model) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId(row.id),
            email: Email::parse(&row.email).ok_or_else(|| corrupt("users", "email", &row.email))?,
            name: row.name,
            avatar_url: row.avatar_url,
            auth_method: AuthMethod::parse(&row.auth_method)
                .ok_or_else(|| corrupt("users", "auth_method", &row.auth_method))?,
            last_login: row.last_login,
            created_at: row.created_at,
        })
    }
}

impl TryFrom<conversations::Model> for Conversation {
    type Error = StoreError;

    fn try_from(row: conversations::Model) -> Result<Self, StoreError> {
        let title = match row.title {
            Some(t) => Some(Title::parse(&t).map_err(|_| corrupt("conversations", "title", &t))?),
            None => None,
        };
        Ok(Conversation {
            id: ConversationId(row.id),
            user_id: UserId(row.user_id),
            title,
            summary: row.summary_text,
            model: row.model,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl TryFrom<messages::Model> for Message {
    type Error = StoreError;

    fn try_from(row: messages::Model) -> Result<Self, StoreError> {
        let client_message_id = match row.client_message_id {
            Some(k) => Some(ClientMessageId::parse(&k).ok_or_else(|| corrupt("messages", "client_message_id", &k))?),
            None => None,
        };
        Ok(Message {
            id: MessageId(row.id),
            conversation_id: ConversationId(row.conversation_id),
            user_id: UserId(row.user_id),
            kind: MessageKind::parse(&row.kind).ok_or_else(|| corrupt("messages", "type", &row.kind))?,
            content: row.content,
            client_message_id,
            parent_id: row.parent_id.map(MessageId),
            usage: match (row.model, row.prompt_tokens, row.completion_tokens) {
                (Some(model), Some(prompt), Some(completion)) => Some(Usage {
                    model,
                    prompt_tokens: u32::try_from(prompt).unwrap_or_default(),
                    completion_tokens: u32::try_from(completion).unwrap_or_default(),
                }),
                _ => None,
            },
            created_at: row.created_at,
        })
    }
}

impl TryFrom<toolkit_connections::Model> for ToolkitConnection {
    type Error = StoreError;

    fn try_from(row: toolkit_connections::Model) -> Result<Self, StoreError> {
        const TABLE: &str = "toolkit_connections";
        Ok(ToolkitConnection {
            id: ConnectionId(row.id),
            user_id: UserId(row.user_id),
            toolkit_slug: ToolkitSlug::parse(&row.toolkit_slug)
                .ok_or_else(|| corrupt(TABLE, "toolkit_slug", &row.toolkit_slug))?,
            status: ConnectionStatus::parse(&row.connection_status)
                .ok_or_else(|| corrupt(TABLE, "connection_status", &row.connection_status))?,
            connected_account_id: row.connected_account_id,
            auth_config_id: row.auth_config_id,
            connection_request_id: row.connection_request_id,
            last_synced_at: row.last_synced_at,
            error_message: row.error_message,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl From<pending_logins::Model> for PendingLogin {
    fn from(row: pending_logins::Model) -> Self {
        PendingLogin {
            state: row.state,
            pkce_verifier: row.pkce_verifier,
            nonce: row.nonce,
            return_to: row.return_to,
            expires_at: row.expires_at,
        }
    }
}

impl TryFrom<memories::Model> for MemoryFact {
    type Error = StoreError;

    fn try_from(row: memories::Model) -> Result<Self, StoreError> {
        let source = match (row.source_message_id, row.source_conversation_id) {
            (Some(m), Some(c)) => Some(MemorySource {
                message_id: MessageId(m),
                conversation_id: ConversationId(c),
            }),
            _ => None,
        };
        Ok(MemoryFact {
            id: MemoryId(row.id),
            user_id: UserId(row.user_id),
            content: MemoryText::parse(&row.content).map_err(|_| corrupt("memories", "content", &row.content))?,
            origin: MemoryOrigin::parse(&row.origin).ok_or_else(|| corrupt("memories", "origin", &row.origin))?,
            source,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Converts every row, failing on the first one the domain rejects.
pub(crate) fn all<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(T::try_from).collect()
}

impl From<answer_drafts::Model> for Draft {
    fn from(row: answer_drafts::Model) -> Self {
        Draft {
            id: DraftId(row.id),
            user_id: UserId(row.user_id),
            conversation_id: ConversationId(row.conversation_id),
            // Stored as a signed 64-bit integer; run ids start at 1 and only grow.
            run: row.run_id as u64,
            content: row.content,
            updated_at: row.updated_at,
        }
    }
}

//! Memories: what meAI remembers about the person, which they can see, correct and delete, and
//! the switch that turns memory off.

use super::detail::Detail;
use super::session::Authenticated;
use super::text::{Text, TextRules};
use super::{ApiError, ApiTags};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use meai_core::memory::MemoryError;
use meai_core::store::Remembered;
use meai_core::{MemoryFact, MemoryId, MemoryOrigin, MemorySwitch, StoreError};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, payload::Json};

pub struct MemoriesApi;

/// Memories per page unless `limit` says otherwise (at most 1000).
const DEFAULT_LIMIT: u64 = 100;

/// How a memory came to be.
#[derive(Debug, Enum)]
#[oai(rename_all = "lowercase")]
pub enum MemoryOriginOut {
    /// Taken by the assistant from something the person said.
    Extracted,
    /// Written by the person.
    Person,
    /// Brought in by an import.
    Imported,
}

impl From<MemoryOrigin> for MemoryOriginOut {
    fn from(o: MemoryOrigin) -> Self {
        match o {
            MemoryOrigin::Extracted => Self::Extracted,
            MemoryOrigin::Person => Self::Person,
            MemoryOrigin::Imported => Self::Imported,
        }
    }
}

/// A durable fact about the person, recalled into the assistant's context when relevant.
#[derive(Debug, Object)]
#[oai(example)]
pub struct MemoryOut {
    memory_id: i64,
    /// At most 500 characters.
    content: String,
    origin: MemoryOriginOut,
    /// The message it was taken from (it may have been deleted since); null for memories the
    /// person wrote.
    #[oai(nullable)]
    source_message_id: Option<i64>,
    #[oai(nullable)]
    source_conversation_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Example for MemoryOut {
    fn example() -> Self {
        let at = super::conversations::example_time(9, 35);
        Self {
            memory_id: 7,
            content: "The user's dog is called Bartholomew".into(),
            origin: MemoryOriginOut::Extracted,
            source_message_id: Some(1201),
            source_conversation_id: Some(42),
            created_at: at,
            updated_at: at,
        }
    }
}

impl From<MemoryFact> for MemoryOut {
    fn from(m: MemoryFact) -> Self {
        Self {
            memory_id: m.id.0,
            content: m.content.as_str().to_owned(),
            origin: m.origin.into(),
            source_message_id: m.source.map(|s| s.message_id.0),
            source_conversation_id: m.source.map(|s| s.conversation_id.0),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The person's memories, newest first.
#[derive(Debug, Object)]
struct MemoryList {
    memories: Vec<MemoryOut>,
    /// How many memories the person has in all.
    total: u64,
    /// How many they may have (`MEMORY_MAX_PER_USER`).
    max: u64,
    /// Whether memory is on (see `PUT /memories/settings`).
    enabled: bool,
}

#[derive(Debug, Object)]
struct MemoryIn {
    /// The fact, at most 500 characters.
    content: Text<MemoryContentText>,
}

/// A memory's text.
struct MemoryContentText;

impl TextRules for MemoryContentText {
    const MAX_CHARS: usize = meai_core::MemoryText::MAX_CHARS;
}

/// The memory switch.
#[derive(Debug, Object)]
struct MemorySettingsOut {
    /// Off: nothing is extracted from the person's messages, and neither memories nor earlier
    /// messages are recalled into their turns. Memories already kept stay until deleted.
    enabled: bool,
    /// When the person last changed it; null while never changed (memory is on by default).
    #[oai(nullable)]
    changed_at: Option<DateTime<Utc>>,
}

impl From<MemorySwitch> for MemorySettingsOut {
    fn from(s: MemorySwitch) -> Self {
        Self {
            enabled: s.enabled,
            changed_at: s.changed_at,
        }
    }
}

#[derive(Debug, Object)]
struct MemorySettingsIn {
    enabled: bool,
}

#[derive(Debug, Object)]
struct MemoryDeleted {
    message: String,
}

#[derive(ApiResponse)]
enum Created {
    /// The memory was added.
    #[oai(status = 201)]
    Created(Json<MemoryOut>),
    /// The person already has a memory saying this: it is returned, nothing is added.
    #[oai(status = 200)]
    Existing(Json<MemoryOut>),
}

fn failed(e: MemoryError) -> ApiError {
    match e {
        MemoryError::Invalid(m) => ApiError::bad_request(m),
        MemoryError::Store(StoreError::NotFound) => ApiError::not_found("Memory not found"),
        MemoryError::Store(StoreError::Conflict(m)) => ApiError::Conflict(Json(Detail::new(m))),
        other => {
            tracing::error!(error = %other, "memory operation failed");
            ApiError::Unavailable(Json(Detail::new("Memory is unavailable, try again")))
        }
    }
}

#[OpenApi(tag = "ApiTags::Memories")]
impl MemoriesApi {
    /// List memories
    ///
    /// What the assistant remembers about the signed-in person, newest first (`limit`, default
    /// 100; `before`: older than that memory).
    #[oai(path = "/memories", method = "get", operation_id = "listMemories")]
    async fn list(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// Memories at most (1-1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
        /// Only memories older than this memory id.
        before: Query<Option<i64>>,
    ) -> Result<Json<MemoryList>, ApiError> {
        let page = super::conversations::page(Some(limit.0.unwrap_or(DEFAULT_LIMIT)), before.0.map(MemoryId))?;
        let list = state
            .memory
            .list_memories(session.0.user_id, page)
            .await
            .map_err(failed)?;
        Ok(Json(MemoryList {
            memories: list.memories.into_iter().map(Into::into).collect(),
            total: list.total,
            max: list.max,
            enabled: list.switch.enabled,
        }))
    }

    /// Add a memory
    ///
    /// Something the assistant should remember. 400 for empty or over-long text, 409 when the
    /// person already has `MEMORY_MAX_PER_USER` memories.
    #[oai(path = "/memories", method = "post", operation_id = "createMemory")]
    async fn create(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        body: Json<MemoryIn>,
    ) -> Result<Created, ApiError> {
        let added = state
            .memory
            .add_memory(
                session.0.user_id,
                body.0.content.as_deref().unwrap_or_default(),
                MemoryOrigin::Person,
                None,
            )
            .await
            .map_err(failed)?;
        Ok(match added {
            Remembered::New(m) => Created::Created(Json(m.into())),
            Remembered::Duplicate(m) => Created::Existing(Json(m.into())),
        })
    }

    /// The memory switch
    ///
    /// Whether memory is on for the signed-in person (it is unless they turned it off), and
    /// when they last changed it.
    #[oai(path = "/memories/settings", method = "get", operation_id = "getMemorySettings")]
    async fn settings(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
    ) -> Result<Json<MemorySettingsOut>, ApiError> {
        Ok(Json(
            state.memory.switch(session.0.user_id).await.map_err(failed)?.into(),
        ))
    }

    /// Turn memory on or off
    ///
    /// Off: nothing is extracted from the person's messages and nothing is recalled into their
    /// turns, at once. Turned back on, messages written while it was off are never extracted.
    #[oai(path = "/memories/settings", method = "put", operation_id = "setMemorySettings")]
    async fn set_settings(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        body: Json<MemorySettingsIn>,
    ) -> Result<Json<MemorySettingsOut>, ApiError> {
        let switch = state
            .memory
            .set_switch(session.0.user_id, body.0.enabled)
            .await
            .map_err(failed)?;
        Ok(Json(switch.into()))
    }

    /// Correct a memory
    ///
    /// Replaces its text; recall uses the new text from the next turn on. 404 for a missing or
    /// someone else's memory, 409 when another memory already says the same.
    #[oai(path = "/memories/:memory_id", method = "patch", operation_id = "updateMemory")]
    async fn update(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The memory's id.
        memory_id: Path<i64>,
        body: Json<MemoryIn>,
    ) -> Result<Json<MemoryOut>, ApiError> {
        let m = state
            .memory
            .edit_memory(
                session.0.user_id,
                MemoryId(memory_id.0),
                body.0.content.as_deref().unwrap_or_default(),
            )
            .await
            .map_err(failed)?;
        Ok(Json(m.into()))
    }

    /// Delete a memory
    ///
    /// Gone from recall at once, and never extracted again from the message it came from.
    #[oai(path = "/memories/:memory_id", method = "delete", operation_id = "deleteMemory")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The memory's id.
        memory_id: Path<i64>,
    ) -> Result<Json<MemoryDeleted>, ApiError> {
        state
            .memory
            .delete_memory(session.0.user_id, MemoryId(memory_id.0))
            .await
            .map_err(failed)?;
        Ok(Json(MemoryDeleted {
            message: "Memory deleted".into(),
        }))
    }
}

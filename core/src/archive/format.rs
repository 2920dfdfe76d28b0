//! The export document, version [`VERSION`]: one JSON object.
//!
//! ```text
//! { "format": "meai-export", "version": 1, "exported_at": "<RFC 3339>",
//!   "sections": ["profile", "memory_settings", "memories", "toolkit_connections", "conversations"],
//!   "profile": {...}, "memory_settings": {...}, "memories": [...], "toolkit_connections": [...],
//!   "conversations": [ {..., "active_leaf_id": 7, "messages": [{"message_id": 7, "parent_id": 5, ...}]}, ... ] }
//! ```
//!
//! `sections` names the sections that follow, in order; each is produced independently (a new
//! one is a new key, and readers ignore keys they do not know). A change that breaks readers
//! bumps `version`. Ids are this server's; timestamps are RFC 3339 UTC. No secret is ever in it:
//! toolkit connections carry their state, not their credentials or account ids.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "meai-export";
pub const VERSION: u32 = 1;

/// Who the person is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedProfile {
    pub user_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub auth_method: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedMemorySettings {
    pub enabled: bool,
    pub changed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedMemory {
    pub memory_id: i64,
    pub content: String,
    /// `extracted`, `person` or `imported`.
    pub origin: String,
    /// The message it came from (which may have been deleted since).
    pub source_message_id: Option<i64>,
    pub source_conversation_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedConnection {
    pub toolkit_slug: String,
    /// `pending`, `active`, `failed` or `disconnected`.
    pub connection_status: String,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedMessage {
    pub message_id: i64,
    /// The message before it on its branch: null for a first message; absent in exports from
    /// before branches, whose messages form one branch in list order.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Option<i64>>,
    /// `Human`, `AI`, `System` or `Tool`.
    #[serde(rename = "type")]
    pub kind: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
    /// An answer's usage: the model that wrote it and its tokens (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ExportedUsage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedUsage {
    pub model: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// One of the person's MCP servers; its token is never exported (`has_token` says whether one
/// is stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedMcpServer {
    pub mcp_server_id: i64,
    pub name: String,
    pub url: String,
    pub has_token: bool,
    pub created_at: DateTime<Utc>,
}

/// A person's rule for a toolkit (`tool` null) or one tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedToolPolicy {
    pub toolkit: String,
    pub tool: Option<String>,
    /// `auto`, `ask`, `never` or `drafts_only`.
    pub policy: String,
    pub updated_at: DateTime<Utc>,
}

/// An entry of the action log: a tool call the assistant made (or was refused) on the
/// person's accounts. Arguments are as recorded: secrets already redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedAction {
    pub action_id: i64,
    pub user_id: i64,
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    pub approval_id: Option<i64>,
    pub toolkit: String,
    pub tool: String,
    pub arguments: serde_json::Value,
    /// `auto`, `approved`, `edited`, `denied` or `expired`.
    pub decision: String,
    /// `succeeded`, `failed` or `not_run`.
    pub outcome: String,
    pub error: Option<String>,
    pub provider_ids: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A conversation with every message of every branch, oldest first (`parent_id` places each in
/// the tree). `messages` is the last key, so a writer can stream them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedConversation {
    pub conversation_id: i64,
    pub title: Option<String>,
    pub summary_text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The last message of the branch the conversation shows (absent: the newest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_leaf_id: Option<i64>,
    pub messages: Vec<ExportedMessage>,
}

/// A key that is there, even as null, is `Some` (absent is `None`, by `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// The document as an import reads it: every section optional, unknown keys ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportDocument {
    pub format: String,
    pub version: u32,
    pub profile: Option<ExportedProfile>,
    pub memory_settings: Option<ExportedMemorySettings>,
    #[serde(default)]
    pub memories: Vec<ExportedMemory>,
    #[serde(default)]
    pub toolkit_connections: Vec<ExportedConnection>,
    #[serde(default)]
    pub conversations: Vec<ExportedConversation>,
}

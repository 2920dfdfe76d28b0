use super::{ConnectionId, UserId};
use chrono::{DateTime, Utc};
use std::fmt;

/// A toolkit slug such as `GMAIL`: case-insensitive on input, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ToolkitSlug(String);

impl ToolkitSlug {
    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim();
        (!s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then(|| Self(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ToolkitSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    Pending,
    Active,
    Failed,
    Disconnected,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Failed => "failed",
            Self::Disconnected => "disconnected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "failed" => Some(Self::Failed),
            "disconnected" => Some(Self::Disconnected),
            _ => None,
        }
    }
}

/// A user's link to one toolkit account (through Composio).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolkitConnection {
    pub id: ConnectionId,
    pub user_id: UserId,
    pub toolkit_slug: ToolkitSlug,
    pub status: ConnectionStatus,
    pub connected_account_id: Option<String>,
    pub auth_config_id: Option<String>,
    pub connection_request_id: Option<String>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A connection to create, or to replace the user's existing one for the same toolkit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnection {
    pub toolkit_slug: ToolkitSlug,
    pub status: ConnectionStatus,
    pub auth_config_id: Option<String>,
    pub connection_request_id: Option<String>,
    pub connected_account_id: Option<String>,
}

/// A status change observed by a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionUpdate {
    pub status: ConnectionStatus,
    pub connected_account_id: Option<String>,
    pub error_message: Option<String>,
    pub synced_at: DateTime<Utc>,
}

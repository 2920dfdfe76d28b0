use crate::{McpServerId, UserId};
use chrono::{DateTime, Utc};
use std::fmt;

/// Longest server name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest server URL, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest bearer token, in characters.
pub const MAX_TOKEN_CHARS: usize = 4096;
/// Servers a person may add.
pub const MAX_SERVERS: usize = 20;

/// A person's MCP server as stored. `Debug` never shows the sealed token.
#[derive(Clone, PartialEq, Eq)]
pub struct McpServer {
    pub id: McpServerId,
    pub user_id: UserId,
    pub name: String,
    pub url: String,
    /// The bearer token, sealed ([`super::SecretSealer`]); never returned to anyone.
    pub sealed_token: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl McpServer {
    pub fn has_token(&self) -> bool {
        self.sealed_token.is_some()
    }
}

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServer")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("has_token", &self.has_token())
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A server to store, its token already sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMcpServer {
    pub name: String,
    pub url: String,
    pub sealed_token: Option<String>,
}

impl fmt::Debug for NewMcpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewMcpServer")
            .field("name", &self.name)
            .field("has_token", &self.sealed_token.is_some())
            .finish_non_exhaustive()
    }
}

/// A person's server with its token opened, for the adapter that connects to it.
#[derive(Clone, PartialEq, Eq)]
pub struct Reachable {
    pub id: McpServerId,
    pub name: String,
    pub url: String,
    pub token: Option<String>,
}

impl fmt::Debug for Reachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reachable")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("has_token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

use super::StoreError;
use crate::mcp::{McpServer, NewMcpServer};
use crate::{McpServerId, UserId};

/// A person's own MCP servers. Names are unique per person, ignoring ASCII case.
#[async_trait::async_trait]
pub trait McpServerStore {
    /// Adds a server; [`StoreError::Conflict`] when the person has one of that name.
    async fn create_mcp_server(&self, user: UserId, server: &NewMcpServer) -> Result<McpServer, StoreError>;

    /// The person's servers, oldest first.
    async fn list_mcp_servers(&self, user: UserId) -> Result<Vec<McpServer>, StoreError>;

    /// Removes one of the person's servers; `NotFound` for a missing one or another's.
    async fn delete_mcp_server(&self, user: UserId, id: McpServerId) -> Result<(), StoreError>;
}

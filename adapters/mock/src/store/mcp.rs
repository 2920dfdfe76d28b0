//! [`McpServerStore`] in memory.

use super::MemoryStore;
use meai_core::mcp::{McpServer, NewMcpServer};
use meai_core::store::McpServerStore;
use meai_core::*;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(super) struct McpState {
    next_id: i64,
    servers: BTreeMap<McpServerId, McpServer>,
}

impl McpState {
    /// Forgets the user's servers; how many there were.
    pub(super) fn user_deleted(&mut self, user: UserId) -> u64 {
        let before = self.servers.len();
        self.servers.retain(|_, s| s.user_id != user);
        (before - self.servers.len()) as u64
    }

    pub(super) fn of(&self, user: UserId) -> Vec<McpServer> {
        self.servers.values().filter(|s| s.user_id == user).cloned().collect()
    }
}

#[async_trait::async_trait]
impl McpServerStore for MemoryStore {
    async fn create_mcp_server(&self, user: UserId, server: &NewMcpServer) -> Result<McpServer, StoreError> {
        let mut s = self.state();
        let now = s.clock.now();
        let mcp = &mut s.mcp;
        if mcp
            .servers
            .values()
            .any(|o| o.user_id == user && o.name.eq_ignore_ascii_case(&server.name))
        {
            return Err(StoreError::Conflict("mcp_servers.name".into()));
        }
        mcp.next_id += 1;
        let stored = McpServer {
            id: McpServerId(mcp.next_id),
            user_id: user,
            name: server.name.clone(),
            url: server.url.clone(),
            sealed_token: server.sealed_token.clone(),
            created_at: now,
        };
        mcp.servers.insert(stored.id, stored.clone());
        Ok(stored)
    }

    async fn list_mcp_servers(&self, user: UserId) -> Result<Vec<McpServer>, StoreError> {
        Ok(self.state().mcp.of(user))
    }

    async fn delete_mcp_server(&self, user: UserId, id: McpServerId) -> Result<(), StoreError> {
        let mut s = self.state();
        match s.mcp.servers.get(&id) {
            Some(server) if server.user_id == user => {
                s.mcp.servers.remove(&id);
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }
}

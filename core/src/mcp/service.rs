//! The use cases on a person's MCP servers: list, add (bounded, URL checked), remove, and the
//! servers to connect to for a turn.

use super::{
    MAX_NAME_CHARS, MAX_SERVERS, MAX_TOKEN_CHARS, MAX_URL_CHARS, McpServer, NewMcpServer, Reachable, SecretSealer,
    UrlGuard,
};
use crate::{McpServerId, Store, StoreError, UserId};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum McpServersError {
    /// Bad input: a sentence for the person.
    #[error("{0}")]
    Invalid(String),
    #[error("MCP server not found")]
    NotFound,
    /// A server of that name exists, or the person has as many as allowed.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Storage(StoreError),
    /// The token could not be sealed.
    #[error("the token could not be stored")]
    Seal,
}

/// What a person asks to add.
#[derive(Clone)]
pub struct AddServer {
    pub name: String,
    pub url: String,
    pub token: Option<String>,
}

#[derive(Clone)]
pub struct McpServers {
    store: Arc<dyn Store>,
    sealer: Arc<dyn SecretSealer>,
    guard: Arc<dyn UrlGuard>,
}

fn storage(e: StoreError) -> McpServersError {
    match e {
        StoreError::NotFound => McpServersError::NotFound,
        StoreError::Conflict(_) => McpServersError::Conflict("you already have an MCP server of that name".into()),
        other => McpServersError::Storage(other),
    }
}

fn bounded(field: &str, value: &str, max: usize) -> Result<(), McpServersError> {
    if value.chars().count() > max {
        return Err(McpServersError::Invalid(format!(
            "{field} is too long (at most {max} characters)"
        )));
    }
    if !crate::text::storable(value) || value.chars().any(char::is_control) {
        return Err(McpServersError::Invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

impl McpServers {
    pub fn new(store: Arc<dyn Store>, sealer: Arc<dyn SecretSealer>, guard: Arc<dyn UrlGuard>) -> Self {
        Self { store, sealer, guard }
    }

    pub async fn list(&self, user: UserId) -> Result<Vec<McpServer>, McpServersError> {
        self.store.list_mcp_servers(user).await.map_err(storage)
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    pub async fn add(&self, user: UserId, add: AddServer) -> Result<McpServer, McpServersError> {
        let name = add.name.trim().to_owned();
        let url = add.url.trim().to_owned();
        if name.is_empty() {
            return Err(McpServersError::Invalid("name must not be empty".into()));
        }
        bounded("name", &name, MAX_NAME_CHARS)?;
        bounded("url", &url, MAX_URL_CHARS)?;
        let token = add.token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if let Some(token) = &token {
            bounded("token", token, MAX_TOKEN_CHARS)?;
        }
        let existing = self.list(user).await?;
        if existing.len() >= MAX_SERVERS {
            return Err(McpServersError::Conflict(format!(
                "you have {MAX_SERVERS} MCP servers, the most allowed: remove one first"
            )));
        }
        if existing.iter().any(|s| s.name.eq_ignore_ascii_case(&name)) {
            return Err(McpServersError::Conflict(
                "you already have an MCP server of that name".into(),
            ));
        }
        self.guard.check(&url).await.map_err(McpServersError::Invalid)?;
        let sealed_token = match &token {
            Some(t) => Some(self.sealer.seal(t).map_err(|e| {
                tracing::error!(error = %e, "could not seal an MCP token");
                McpServersError::Seal
            })?),
            None => None,
        };
        let new = NewMcpServer {
            name,
            url,
            sealed_token,
        };
        let server = self.store.create_mcp_server(user, &new).await.map_err(storage)?;
        tracing::info!(server_id = %server.id, "MCP server added");
        Ok(server)
    }

    #[tracing::instrument(skip(self), fields(user_id = %user))]
    pub async fn remove(&self, user: UserId, id: McpServerId) -> Result<(), McpServersError> {
        self.store.delete_mcp_server(user, id).await.map_err(storage)
    }

    /// The person's servers with their tokens opened. A token that cannot be opened (the key
    /// changed) leaves its server out, with a warning.
    pub async fn reachable(&self, user: UserId) -> Result<Vec<Reachable>, StoreError> {
        let servers = self.store.list_mcp_servers(user).await?;
        let mut out = Vec::with_capacity(servers.len());
        for s in servers {
            let token = match s.sealed_token.as_deref().map(|t| self.sealer.open(t)) {
                None => None,
                Some(Ok(token)) => Some(token),
                Some(Err(e)) => {
                    tracing::warn!(server_id = %s.id, error = %e, "could not open an MCP token: server left out");
                    continue;
                }
            };
            out.push(Reachable {
                id: s.id,
                name: s.name,
                url: s.url,
                token,
            });
        }
        Ok(out)
    }
}

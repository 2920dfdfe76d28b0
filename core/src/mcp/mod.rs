//! A person's own MCP servers: which ones they added (name, URL, an optional bearer token kept
//! sealed), the rules on what they may add, and the servers with their tokens opened for the
//! adapter that connects to them. The operator's servers come from configuration, not from here.

mod ports;
mod server;
mod service;

pub use ports::{SealError, SecretSealer, UrlGuard};
pub use server::{MAX_NAME_CHARS, MAX_SERVERS, MAX_TOKEN_CHARS, MAX_URL_CHARS, McpServer, NewMcpServer, Reachable};
pub use service::{AddServer, McpServers, McpServersError};

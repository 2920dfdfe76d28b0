//! What can go wrong talking to an MCP server. No variant ever carries a credential: texts that
//! come from the server are scrubbed of the configured secrets first.

use crate::ssrf::UrlRefused;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// The URL failed the SSRF guard; nothing was sent.
    #[error("the MCP server URL was refused: {0}")]
    Refused(#[from] UrlRefused),
    /// A header name or value that cannot be sent.
    #[error("the MCP server configuration is invalid: {0}")]
    InvalidConfig(String),
    /// The server could not be reached or dropped the connection; worth a later retry.
    #[error("the MCP server is unavailable: {0}")]
    Unavailable(String),
    /// The server answered 401/403: the token or headers need fixing.
    #[error("the MCP server refused the credentials: {0}")]
    Unauthorized(String),
    /// No answer within the bound; a timed-out tool call was cancelled on the server.
    #[error("the MCP server did not answer within {0:?}")]
    Timeout(Duration),
    /// The server broke the protocol or refused the request.
    #[error("MCP protocol error: {0}")]
    Protocol(String),
    /// The tool ran and failed (`isError`), or refused its arguments. The text is meant for the
    /// model.
    #[error("{0}")]
    ToolFailed(String),
}

impl McpError {
    /// Whether the server itself is out of reach, so the caller may skip it for a while.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Timeout(_))
    }
}

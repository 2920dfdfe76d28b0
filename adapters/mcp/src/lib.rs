//! MCP servers as toolkits for meAI: a client of remote MCP servers over Streamable HTTP, on the
//! official Rust SDK (rmcp).
//!
//! - [`McpClient`]: one session with a server: its tools, and calls with a timeout.
//! - [`McpToolkit`]: a server connected lazily, its tool list cached for a while.
//! - [`names`]: tool names unique across servers and valid for OpenAI/Gemini, and back.
//! - [`McpSource`]: the operator's and each person's servers as the core's `ToolSource`.
//! - [`ssrf`]: which URLs may be reached, and an HTTP client pinned to the checked addresses.
//!
//! Credentials ([`Secret`]) never appear in `Debug`, logs or errors.

// The integration tests' Node server helper, reused by unit tests, names the crate.
#[cfg(test)]
extern crate self as meai_mcp;

mod client;
mod config;
mod content;
mod error;
pub mod names;
mod secret;
mod source;
pub mod ssrf;
mod toolkit;

pub use client::{CLIENT_NAME, McpClient, McpTool, ToolHints};
pub use config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, McpServerConfig};
pub use content::{MAX_RESULT_CHARS, McpToolOutput};
pub use error::McpError;
pub use names::{ToolNamespace, model_tool_name};
pub use secret::Secret;
pub use source::{DEFAULT_CALL_TIMEOUT, DEFAULT_LIST_TIMEOUT, McpSource, SourceSettings, SsrfGuard, toolkit_name};
pub use ssrf::{CheckedUrl, UrlRefused, check_url};
pub use toolkit::{DEFAULT_RETRY_AFTER_FAILURE, DEFAULT_TOOLS_TTL, McpToolkit};

//! Toolkits (Gmail, Calendar, Notion...) through a toolkit platform (Composio): the port, the
//! connection use cases, other tool sources (MCP servers), and the tools offered to the assistant
//! turn.

mod catalog;
mod port;
mod rank;
mod service;
mod source;
mod tools;

pub use catalog::{SUPPORTED, ToolkitCatalog};
pub use port::{AccountStatus, ConnectedAccount, ConnectionRequest, ToolkitError, Toolkits};
pub use rank::top as rank_tools;
pub use service::{Connecting, Synced, ToolkitConnections, ToolkitsError, local_status};
pub use source::ToolSource;
pub use tools::{DEFAULT_MAX_TOOLS, ToolkitTools};

//! What every request handler can reach: the use cases, wired to their adapters.

use crate::config::Config;
use meai_core::service::{Conversations, Logins, Sessions};
use meai_core::turn::Turns;
use meai_core::{NewUser, Store};
use std::sync::Arc;

/// How people sign in on this instance.
#[derive(Clone)]
pub enum SignIn {
    /// No identity provider configured: one local user, for a single person on their own machine.
    Local(NewUser),
    /// Google OAuth 2.0 / OpenID Connect.
    Google(Logins),
}

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub conversations: Conversations,
    pub sessions: Sessions,
    pub sign_in: SignIn,
    /// The assistant turn (Socket.IO and SSE).
    pub turns: Turns,
    /// Toolkit connections (Composio); `None` without `COMPOSIO_API_KEY`.
    pub toolkits: Option<meai_core::toolkits::ToolkitConnections>,
    /// A person's MCP servers; `None` in a build without the `mcp` feature.
    pub mcp: Option<meai_core::mcp::McpServers>,
    /// Tool policies, pending approvals and the action log.
    pub consent: meai_core::consent::ToolConsent,
    /// Memory (recall and search).
    pub memory: meai_core::memory::Memory,
    /// The person's data: export, import, account deletion.
    pub export: meai_core::archive::Export,
    pub import: meai_core::archive::Import,
    pub account: meai_core::service::AccountDeletion,
    /// Token usage reports (`GET /usage`).
    pub usage: meai_core::service::UsageReports,
    /// Operations: tracked runs, limits, sockets (issue 7).
    pub ops: crate::ops::Ops,
}

//! The Toolkits port: what meAI needs from a toolkit platform (Composio).
//!
//! Toolkit slugs cross this port upper-case ([`ToolkitSlug`]); adapters translate to the
//! platform's spelling. Tool names are the platform's tool slugs (`GMAIL_SEND_EMAIL`).

use crate::model::ToolSpec;
use crate::{ToolkitSlug, UserId};
use serde_json::Value;
use std::time::Duration;

/// What an adapter may report. Each variant is mapped once, at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolkitError {
    /// The user has no usable (ACTIVE) account for the toolkit the tool belongs to.
    #[error("no connected account: {0}")]
    NoConnectedAccount(String),
    /// The connected account, tool or auth config does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The platform throttled us; `retry_after` is what it asked for, when it said.
    #[error("rate limited by the toolkit service")]
    RateLimited { retry_after: Option<Duration> },
    /// The platform rejected the request as invalid (e.g. a wrong auth config id).
    #[error("the toolkit service rejected the request: {0}")]
    BadRequest(String),
    /// The tool ran and reported a failure (`successful: false`); readable by the model.
    #[error("{0}")]
    ToolFailed(String),
    /// The platform answered something unusable (bad credentials, an unexpected reply).
    #[error("the toolkit service failed: {0}")]
    Upstream(String),
    /// The platform could not be reached, timed out, or kept failing with 5xx.
    #[error("the toolkit service is unavailable: {0}")]
    Unavailable(String),
}

/// The platform's view of a connected account's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStatus {
    Initializing,
    Initiated,
    Active,
    Failed,
    Expired,
    Inactive,
    Revoked,
    /// A status this build does not know; treated as not usable.
    Other(String),
}

impl AccountStatus {
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "INITIALIZING" => Self::Initializing,
            "INITIATED" => Self::Initiated,
            "ACTIVE" => Self::Active,
            "FAILED" => Self::Failed,
            "EXPIRED" => Self::Expired,
            "INACTIVE" => Self::Inactive,
            "REVOKED" => Self::Revoked,
            _ => Self::Other(s.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Initializing => "INITIALIZING",
            Self::Initiated => "INITIATED",
            Self::Active => "ACTIVE",
            Self::Failed => "FAILED",
            Self::Expired => "EXPIRED",
            Self::Inactive => "INACTIVE",
            Self::Revoked => "REVOKED",
            Self::Other(s) => s,
        }
    }
}

/// A started connection: the user finishes authorization at `redirect_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRequest {
    /// The connected account id (`ca_...`), which is also the request id to sync later.
    pub id: String,
    pub redirect_url: Option<String>,
    pub status: AccountStatus,
}

/// A connected account as the platform reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAccount {
    pub id: String,
    /// Upper-cased toolkit slug; `None` if the platform sent one this build cannot parse.
    pub toolkit: Option<ToolkitSlug>,
    pub status: AccountStatus,
    /// Why the account is not usable, when the platform says.
    pub status_reason: Option<String>,
    pub is_disabled: bool,
    pub auth_config_id: Option<String>,
}

/// The toolkit platform, for one server (its accounts are keyed by meAI user).
#[async_trait::async_trait]
pub trait Toolkits: Send + Sync + 'static {
    /// Starts connecting the user's account for an auth config; returns where to authorize.
    async fn initiate(&self, user: UserId, auth_config_id: &str) -> Result<ConnectionRequest, ToolkitError>;

    /// One connected account by id. Ownership is checked by the caller against its store.
    async fn account(&self, id: &str) -> Result<ConnectedAccount, ToolkitError>;

    /// The user's connected accounts, any status.
    async fn accounts(&self, user: UserId) -> Result<Vec<ConnectedAccount>, ToolkitError>;

    /// The tools of the given toolkits, as the model sees them (adapters may cache).
    async fn tools(&self, toolkits: &[ToolkitSlug]) -> Result<Vec<ToolSpec>, ToolkitError>;

    /// Runs a tool for the user; `Ok` is the tool's `data`, a reported failure is
    /// [`ToolkitError::ToolFailed`].
    async fn execute(&self, user: UserId, tool: &str, arguments: &Value) -> Result<Value, ToolkitError>;

    /// Deletes a connected account at the platform (and, where the platform can, revokes its
    /// credentials upstream). An account that is already gone is [`ToolkitError::NotFound`].
    /// Ownership is checked by the caller.
    async fn delete_account(&self, id: &str) -> Result<(), ToolkitError>;
}

//! The one table from what went wrong to what a client is told: an HTTP status and a sentence,
//! which is also the `error` text a socket receives. Internals go to the log, never to people.

use crate::limits::Refused;
use meai_core::CoreError;
use poem::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: StatusCode,
    pub detail: String,
    /// For 429: when to try again, in seconds.
    pub retry_after: Option<u64>,
}

impl Failure {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// A body or event payload that does not parse, worded the same on every transport.
    pub fn invalid_payload(reason: &str) -> Self {
        Self::bad_request(format!("Invalid request body: {reason}"))
    }
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::NotFound(what) => Self::new(StatusCode::NOT_FOUND, format!("{what} not found")),
            CoreError::Unauthenticated => Self::new(StatusCode::UNAUTHORIZED, "Not authenticated"),
            CoreError::Invalid(m) => Self::bad_request(m),
            CoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            CoreError::Storage(err) => {
                tracing::error!(error = %err, "storage failure");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "Storage is unavailable, try again")
            }
            CoreError::Unavailable(m) => Self::new(StatusCode::SERVICE_UNAVAILABLE, m),
            CoreError::Runs(err) => {
                tracing::error!(error = %err, "run registry failure");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "The service is busy, try again")
            }
            CoreError::Signing(err) => {
                tracing::error!(error = %err, "session signing failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}

impl From<Refused> for Failure {
    fn from(r: Refused) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            detail: r.to_string(),
            retry_after: Some(r.retry_after_secs()),
        }
    }
}

impl From<meai_core::mcp::McpServersError> for Failure {
    fn from(e: meai_core::mcp::McpServersError) -> Self {
        use meai_core::mcp::McpServersError as E;
        match e {
            E::Invalid(m) => Self::bad_request(m),
            E::NotFound => Self::new(StatusCode::NOT_FOUND, "MCP server not found"),
            E::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            E::Storage(err) => {
                tracing::error!(error = %err, "storage failure");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "Storage is unavailable, try again")
            }
            E::Seal => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        }
    }
}

use std::time::Duration;

/// What a chat model or embedder can fail with. Messages never contain credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The provider refused for now (HTTP 429); `retry_after` is its hint, when it gave one.
    #[error("the model provider is rate limiting requests")]
    RateLimited { retry_after: Option<Duration> },
    /// The provider answered with an error (HTTP status when there was one).
    #[error("the model provider failed{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Upstream { status: Option<u16>, message: String },
    /// The answer stopped before the model finished it (connection lost, stream closed early).
    #[error("the model's answer was cut off before it finished")]
    Truncated,
    /// The provider stopped sending anything for too long.
    #[error("the model provider stopped responding")]
    Timeout,
    /// The provider could not be reached (connection refused, DNS, TLS).
    #[error("the model provider is unreachable: {0}")]
    Unavailable(String),
    /// The request cannot succeed as it is (rejected schema, unanswered tool call, ...).
    #[error("invalid request to the model: {0}")]
    InvalidRequest(String),
}

impl ModelError {
    /// Whether the same request may succeed if sent again (only meaningful before anything of
    /// the answer was streamed to the user).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Truncated | Self::Timeout | Self::Unavailable(_) => true,
            Self::Upstream { status: None, .. } => true,
            Self::Upstream {
                status: Some(status), ..
            } => matches!(status, 408 | 409 | 500..=599),
            Self::InvalidRequest(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_throttling_are_retryable_client_errors_are_not() {
        assert!(ModelError::RateLimited { retry_after: None }.is_retryable());
        assert!(
            ModelError::Upstream {
                status: Some(503),
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(
            !ModelError::Upstream {
                status: Some(401),
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(!ModelError::InvalidRequest("x".into()).is_retryable());
    }

    #[test]
    fn display_names_the_status() {
        let e = ModelError::Upstream {
            status: Some(500),
            message: "boom".into(),
        };
        assert_eq!(e.to_string(), "the model provider failed (HTTP 500): boom");
    }
}

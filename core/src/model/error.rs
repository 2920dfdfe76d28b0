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
    /// What the person is told: short, saying what to do, and never the provider's own text
    /// (it can echo key fragments, account and organisation ids); that goes to the log.
    pub fn user_message(&self) -> String {
        let wait = "try again in a moment";
        match self {
            Self::RateLimited {
                retry_after: Some(after),
            } if after.as_secs() >= 2 => format!(
                "the model provider is rate limiting this server: try again in {} seconds",
                after.as_secs()
            ),
            Self::RateLimited { .. } => format!("the model provider is rate limiting this server: {wait}"),
            Self::Upstream {
                status: Some(401 | 403),
                ..
            } => "the model provider refused the request: check the server's API key".into(),
            Self::Upstream { status: Some(402), .. } => {
                "the model provider refused the request: check the account's billing and quota".into()
            }
            Self::Upstream {
                status: Some(status @ 500..),
                ..
            } => format!("the model provider failed (HTTP {status}): {wait}"),
            Self::Upstream {
                status: Some(status), ..
            } => format!("the model provider refused the request (HTTP {status})"),
            Self::Upstream { status: None, .. } => format!("the model provider failed: {wait}"),
            Self::Truncated => "the model's answer was cut off before it finished: try again".into(),
            Self::Timeout => format!("the model provider stopped responding: {wait}"),
            Self::Unavailable(_) => "the model provider cannot be reached: try again later".into(),
            Self::InvalidRequest(_) => {
                "the model provider rejected the request: check the server's model settings".into()
            }
        }
    }

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
    fn people_are_told_what_to_do_never_the_providers_text() {
        let upstream = |status: u16| ModelError::Upstream {
            status: Some(status),
            message: "Incorrect API key provided: sk-...T123. Org: org-secret".into(),
        };
        assert_eq!(
            upstream(401).user_message(),
            "the model provider refused the request: check the server's API key"
        );
        assert_eq!(
            upstream(500).user_message(),
            "the model provider failed (HTTP 500): try again in a moment"
        );
        assert_eq!(
            ModelError::RateLimited {
                retry_after: Some(Duration::from_millis(2500))
            }
            .user_message(),
            "the model provider is rate limiting this server: try again in 2 seconds"
        );
        let every = [
            upstream(401),
            upstream(402),
            upstream(418),
            upstream(503),
            ModelError::Upstream {
                status: None,
                message: "sk-secret".into(),
            },
            ModelError::RateLimited { retry_after: None },
            ModelError::Truncated,
            ModelError::Timeout,
            ModelError::Unavailable("dns error: api.example sk-secret".into()),
            ModelError::InvalidRequest("HTTP 400: org-secret".into()),
        ];
        for e in every {
            let m = e.user_message();
            assert!(!m.contains("sk-") && !m.contains("org-") && m.len() < 100, "{m}");
        }
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

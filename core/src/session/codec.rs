use super::SessionClaims;
use chrono::{DateTime, Utc};

/// A signed session token as sent to clients. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token itself, for the cookie or the bearer response only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, tampered with, or signed by another key.
    #[error("invalid session token")]
    Invalid,
    #[error("session token expired")]
    Expired,
    #[error("could not sign session token: {0}")]
    Signing(String),
}

/// Signs and verifies session tokens. Pure computation: revocation is checked separately
/// against the store.
pub trait TokenCodec: Send + Sync + 'static {
    fn mint(&self, claims: &SessionClaims) -> Result<SessionToken, TokenError>;

    /// Checks the signature and that the token has not expired at `now`.
    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<SessionClaims, TokenError>;
}

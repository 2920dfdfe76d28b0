use crate::UserId;
use chrono::{DateTime, Utc};
use std::fmt;

/// A session token's unique id: what logout revokes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenId(String);

impl TokenId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a valid session token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    pub user_id: UserId,
    pub token_id: TokenId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

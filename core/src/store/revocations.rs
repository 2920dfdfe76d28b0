use super::StoreError;
use crate::session::TokenId;
use chrono::{DateTime, Utc};

/// Revoked session tokens. A revocation is kept until the token would have expired anyway.
#[async_trait::async_trait]
pub trait RevocationStore {
    /// Idempotent: revoking twice is fine.
    async fn revoke_token(&self, id: &TokenId, expires_at: DateTime<Utc>) -> Result<(), StoreError>;

    async fn is_token_revoked(&self, id: &TokenId) -> Result<bool, StoreError>;

    /// Every revocation of a token still unexpired at `now`, with its expiry (what an
    /// in-memory mirror of the revocations loads at start).
    async fn live_revocations(&self, now: DateTime<Utc>) -> Result<Vec<(TokenId, DateTime<Utc>)>, StoreError>;

    /// Forgets revocations of tokens that expired before `now`; returns how many.
    async fn purge_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

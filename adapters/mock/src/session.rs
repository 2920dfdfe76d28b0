//! [`MemoryCodec`]: the TokenCodec port without cryptography: tokens are opaque handles to
//! claims kept in memory. Expiry is checked like the real codec's.

use chrono::{DateTime, Utc};
use meai_core::session::{SessionClaims, SessionToken, TokenCodec, TokenError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Clones share the tokens they minted.
#[derive(Debug, Clone, Default)]
pub struct MemoryCodec {
    minted: Arc<Mutex<HashMap<String, SessionClaims>>>,
    next: Arc<AtomicU64>,
}

impl TokenCodec for MemoryCodec {
    fn mint(&self, claims: &SessionClaims) -> Result<SessionToken, TokenError> {
        let token = format!("mock-token-{}", self.next.fetch_add(1, Ordering::Relaxed) + 1);
        self.minted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), claims.clone());
        Ok(SessionToken::new(token))
    }

    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<SessionClaims, TokenError> {
        let claims = self
            .minted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
            .ok_or(TokenError::Invalid)?;
        if claims.expires_at <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

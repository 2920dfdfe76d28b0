use crate::session::{SessionClaims, SessionToken, TokenCodec, TokenId};
use crate::{CoreError, NewUser, Store, User};
use chrono::{Duration, Utc};
use std::sync::Arc;

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub lifetime: Duration,
}

/// Sign-in, authentication of a presented token, and logout.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
    codec: Arc<dyn TokenCodec>,
    policy: SessionPolicy,
    new_token_id: Arc<dyn Fn() -> TokenId + Send + Sync>,
}

impl Sessions {
    /// `new_token_id` must return unguessable, unique ids (the adapter side owns randomness).
    pub fn new(
        store: Arc<dyn Store>,
        codec: Arc<dyn TokenCodec>,
        policy: SessionPolicy,
        new_token_id: impl Fn() -> TokenId + Send + Sync + 'static,
    ) -> Self {
        Self {
            store,
            codec,
            policy,
            new_token_id: Arc::new(new_token_id),
        }
    }

    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// Records the sign-in of a verified profile and opens a session for that user.
    #[tracing::instrument(skip_all, fields(auth_method = profile.auth_method.as_str()))]
    pub async fn sign_in(&self, profile: &NewUser) -> Result<(User, SessionToken, SessionClaims), CoreError> {
        let now = Utc::now();
        let user = self
            .store
            .upsert_user(profile, now)
            .await
            .map_err(CoreError::store("User"))?;
        let claims = SessionClaims {
            user_id: user.id,
            token_id: (self.new_token_id)(),
            issued_at: now,
            expires_at: now + self.policy.lifetime,
        };
        let token = self.codec.mint(&claims)?;
        tracing::info!(user_id = %user.id, "signed in");
        Ok((user, token, claims))
    }

    /// A second token for an already authenticated session (e.g. a bearer token for API clients),
    /// expiring no later than the session it comes from.
    pub fn mint_for(&self, session: &SessionClaims) -> Result<(SessionToken, SessionClaims), CoreError> {
        let claims = SessionClaims {
            user_id: session.user_id,
            token_id: (self.new_token_id)(),
            issued_at: Utc::now(),
            expires_at: session.expires_at,
        };
        Ok((self.codec.mint(&claims)?, claims))
    }

    /// Verifies signature, expiry and revocation, and that the user still exists (a deleted
    /// account's tokens are refused everywhere, whatever was revoked).
    pub async fn authenticate(&self, token: &str) -> Result<SessionClaims, CoreError> {
        let claims = self.codec.verify(token, Utc::now())?;
        let (revoked, user) = futures::join!(
            self.store.is_token_revoked(&claims.token_id),
            self.store.get_user(claims.user_id)
        );
        if revoked.map_err(CoreError::Storage)? {
            return Err(CoreError::Unauthenticated);
        }
        match user {
            Ok(_) => Ok(claims),
            Err(crate::StoreError::NotFound) => Err(CoreError::Unauthenticated),
            Err(other) => Err(CoreError::Storage(other)),
        }
    }

    pub async fn current_user(&self, session: &SessionClaims) -> Result<User, CoreError> {
        // A deleted user's tokens are worthless.
        self.store.get_user(session.user_id).await.map_err(|e| match e {
            crate::StoreError::NotFound => CoreError::Unauthenticated,
            other => CoreError::Storage(other),
        })
    }

    /// Revokes the session's token everywhere, at once.
    pub async fn logout(&self, session: &SessionClaims) -> Result<(), CoreError> {
        self.store
            .revoke_token(&session.token_id, session.expires_at)
            .await
            .map_err(CoreError::Storage)?;
        tracing::info!(user_id = %session.user_id, "signed out");
        Ok(())
    }
}

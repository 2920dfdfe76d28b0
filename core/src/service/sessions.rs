use crate::session::{
    EndedSessions, SessionClaims, SessionEnded, SessionNotice, SessionNotices, SessionToken, TokenCodec, TokenId,
    issued_by,
};
use crate::{CoreError, NewUser, Store, User, UserId};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub lifetime: Duration,
}

/// Sign-in, authentication of a presented token, and the ways sessions end: logout (one token)
/// and [`Sessions::end_all`] (every session of a user). Both are recorded in the store and
/// announced through [`SessionNotices`] so every instance closes the connections still using
/// them. Authentication checks an exact in-memory mirror of the store's ended sessions while one
/// is kept ([`Sessions::follow`]), and the store otherwise.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
    codec: Arc<dyn TokenCodec>,
    notices: Arc<dyn SessionNotices>,
    policy: SessionPolicy,
    new_token_id: Arc<dyn Fn() -> TokenId + Send + Sync>,
    ended: Arc<EndedSessions>,
}

impl Sessions {
    /// `new_token_id` must return unguessable, unique ids (the adapter side owns randomness).
    pub fn new(
        store: Arc<dyn Store>,
        codec: Arc<dyn TokenCodec>,
        notices: Arc<dyn SessionNotices>,
        policy: SessionPolicy,
        new_token_id: impl Fn() -> TokenId + Send + Sync + 'static,
    ) -> Self {
        Self {
            store,
            codec,
            notices,
            policy,
            new_token_id: Arc::new(new_token_id),
            ended: Arc::default(),
        }
    }

    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// Where ended sessions are announced (the edges subscribe to close their connections).
    pub fn notices(&self) -> &Arc<dyn SessionNotices> {
        &self.notices
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
        let mut issued_at = now;
        // Signing in again within the second of "sign out everywhere" must not yield a token
        // that is dead on arrival.
        if let Some(cutoff) = self.cutoff(user.id).await?
            && issued_at.timestamp() <= cutoff.timestamp()
        {
            issued_at = cutoff + Duration::seconds(1);
        }
        let claims = SessionClaims {
            user_id: user.id,
            token_id: (self.new_token_id)(),
            issued_at,
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
            issued_at: Utc::now().max(session.issued_at),
            expires_at: session.expires_at,
        };
        Ok((self.codec.mint(&claims)?, claims))
    }

    /// Verifies signature, expiry, and that the session has not ended ([`Sessions::has_ended`]).
    /// Deleting an account ends all its sessions ([`Sessions::end_all`]), so its tokens fail here.
    pub async fn authenticate(&self, token: &str) -> Result<SessionClaims, CoreError> {
        let claims = self.codec.verify(token, Utc::now())?;
        if self.has_ended(&claims).await? {
            return Err(CoreError::Unauthenticated);
        }
        Ok(claims)
    }

    /// Whether the session was ended before its expiry: its token revoked, or every session of
    /// its user ended after it was issued. (Expiry itself is the codec's check.)
    pub async fn has_ended(&self, claims: &SessionClaims) -> Result<bool, CoreError> {
        if let Some(ended) = self.ended.has_ended(claims) {
            return Ok(ended);
        }
        let (revoked, cutoff) = futures::join!(self.is_revoked(&claims.token_id), self.cutoff(claims.user_id));
        Ok(revoked? || cutoff?.is_some_and(|c| issued_by(claims, c)))
    }

    async fn is_revoked(&self, token: &TokenId) -> Result<bool, CoreError> {
        self.store.is_token_revoked(token).await.map_err(CoreError::Storage)
    }

    async fn cutoff(&self, user: UserId) -> Result<Option<DateTime<Utc>>, CoreError> {
        self.store.sessions_ended_at(user).await.map_err(CoreError::Storage)
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
        let ended = SessionEnded::Token(session.token_id.clone());
        self.ended.apply(&ended, session.expires_at);
        self.announce(ended).await;
        tracing::info!(user_id = %session.user_id, "signed out");
        Ok(())
    }

    /// Ends every session of `user` issued until now, on every instance (sign out everywhere;
    /// account deletion). A later sign-in opens a new session as usual.
    pub async fn end_all(&self, user: UserId) -> Result<(), CoreError> {
        let now = Utc::now();
        self.store.end_sessions(user, now).await.map_err(CoreError::Storage)?;
        let ended = SessionEnded::User {
            user,
            issued_until: now,
        };
        self.ended.apply(&ended, now);
        self.announce(ended).await;
        tracing::info!(user_id = %user, "all sessions ended");
        Ok(())
    }

    /// Keeps the mirror of ended sessions current with a notice from a subscription taken
    /// before [`Sessions::remember_ended`]. Returns `true` when the mirror must be loaded again
    /// (notices were missed).
    pub fn follow(&self, notice: &SessionNotice) -> bool {
        match notice {
            SessionNotice::Ended(ended) => {
                // Another instance's revoked token: its expiry is at most a lifetime away.
                self.ended.apply(ended, Utc::now() + self.policy.lifetime);
                false
            }
            SessionNotice::Missed => {
                self.forget_mirror();
                true
            }
        }
    }

    /// Loads the store's ended sessions into the mirror, which then answers authentication.
    /// Call it after subscribing to the notices, and feed every notice to [`Sessions::follow`].
    pub async fn remember_ended(&self) -> Result<(), CoreError> {
        let now = Utc::now();
        let (tokens, cutoffs) = futures::join!(self.store.live_revocations(now), self.store.session_cutoffs());
        self.ended.load(
            tokens.map_err(CoreError::Storage)?,
            cutoffs.map_err(CoreError::Storage)?,
        );
        let (tokens, users) = self.ended.counts();
        tracing::info!(
            revoked_tokens = tokens,
            user_cutoffs = users,
            "ended sessions held in memory"
        );
        Ok(())
    }

    /// The subscription ended or notices were lost: the store answers until the next load.
    pub fn forget_mirror(&self) {
        self.ended.unsure();
    }

    /// Forgets revocations of expired tokens (the codec refuses those on its own), in the store
    /// and in the mirror.
    pub async fn purge_expired(&self) -> Result<u64, CoreError> {
        let now = Utc::now();
        self.ended.forget_expired(now);
        self.store.purge_revocations(now).await.map_err(CoreError::Storage)
    }

    /// The store already refuses the ended session everywhere; a lost notice only delays
    /// closing live connections until the subscribers' next check (see [`SessionNotice::Missed`]).
    ///
    /// [`SessionNotice::Missed`]: crate::session::SessionNotice::Missed
    async fn announce(&self, ended: SessionEnded) {
        if let Err(e) = self.notices.publish(ended).await {
            tracing::error!(error = %e, "could not announce an ended session: live connections stay open until rechecked");
        }
    }
}

/// Deleting an account ends all its sessions.
#[async_trait::async_trait]
impl super::EndSessions for Sessions {
    async fn end_sessions(&self, user: UserId) -> Result<(), CoreError> {
        self.end_all(user).await
    }
}

use super::Sessions;
use crate::identity::{Identity, IdentityError};
use crate::session::{SessionClaims, SessionToken};
use crate::{CoreError, ReturnTo, Store, User};
use chrono::Utc;
use std::sync::Arc;

/// Why a sign-in did not complete. [`LoginError::code`] is what the edge shows the frontend.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The `state` is unknown, expired or already used: a forged, stale or replayed callback.
    #[error("the login is unknown, expired or already finished")]
    InvalidState,
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl LoginError {
    /// A stable, short, non-sensitive code for the frontend redirect (`?error=<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidState => "invalid_state",
            Self::Identity(IdentityError::Rejected(_)) => "rejected",
            Self::Identity(IdentityError::UnverifiedEmail) => "unverified_email",
            Self::Identity(IdentityError::Unavailable(_)) => "provider_unavailable",
            Self::Core(_) => "internal",
        }
    }
}

/// Sign-in through the identity provider: start (redirect out) and finish (the callback).
///
/// The login in flight lives in the store, not in the instance, so any instance behind the load
/// balancer can finish what another started.
#[derive(Clone)]
pub struct Logins {
    store: Arc<dyn Store>,
    identity: Arc<dyn Identity>,
    sessions: Sessions,
}

impl Logins {
    pub fn new(store: Arc<dyn Store>, identity: Arc<dyn Identity>, sessions: Sessions) -> Self {
        Self {
            store,
            identity,
            sessions,
        }
    }

    /// Begins a login and returns the provider URL to send the browser to. A `return_to` that is
    /// not a plain local path (`/...`) is dropped, so the callback can never redirect off-site.
    #[tracing::instrument(skip_all)]
    pub async fn start(&self, return_to: Option<String>) -> Result<String, CoreError> {
        let return_to = return_to.and_then(|p| {
            let parsed = ReturnTo::parse(&p);
            if parsed.is_none() {
                tracing::debug!("dropping a return_to that is not a local path");
            }
            parsed.map(|r| r.as_str().to_owned())
        });
        let request = self.identity.authorize(return_to, Utc::now());
        self.store.put_login(&request.login).await.map_err(CoreError::Storage)?;
        Ok(request.url)
    }

    /// Completes the login the provider redirected back with: spends the pending login (single
    /// use), exchanges the code for the verified profile, and signs that user in.
    /// Returns the user, the session token and its claims, and where the frontend wanted to go.
    #[tracing::instrument(skip_all)]
    pub async fn finish(
        &self,
        code: &str,
        state: &str,
    ) -> Result<(User, SessionToken, SessionClaims, Option<String>), LoginError> {
        // A state no store can hold (U+0000) was never issued either.
        if code.is_empty() || state.is_empty() || !crate::text::storable(state) {
            return Err(LoginError::InvalidState);
        }
        let login = self
            .store
            .take_login(state, Utc::now())
            .await
            .map_err(CoreError::Storage)?
            .ok_or(LoginError::InvalidState)?;
        let profile = self.identity.exchange(code, &login).await.inspect_err(|e| {
            tracing::warn!(error = %e, "identity provider did not complete the login");
        })?;
        let (user, token, claims) = self.sessions.sign_in(&profile).await?;
        Ok((user, token, claims, login.return_to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let cases = [
            (LoginError::InvalidState, "invalid_state"),
            (IdentityError::Rejected("invalid_grant".into()).into(), "rejected"),
            (IdentityError::UnverifiedEmail.into(), "unverified_email"),
            (
                IdentityError::Unavailable("timeout".into()).into(),
                "provider_unavailable",
            ),
            (CoreError::Unauthenticated.into(), "internal"),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
        }
    }
}

//! The Identity port: signing people in through an external provider (Google OAuth / OIDC).

use crate::{NewUser, PendingLogin};
use chrono::{DateTime, Utc};

/// Where to send the browser to start a login, and what to remember until it comes back.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub url: String,
    pub login: PendingLogin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The provider refused the code or the exchange (bad, expired or reused code).
    #[error("the identity provider rejected the login: {0}")]
    Rejected(String),
    /// The provider did not vouch for the e-mail address.
    #[error("the e-mail address is not verified")]
    UnverifiedEmail,
    /// The provider could not be reached or answered something unusable.
    #[error("the identity provider failed: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait Identity: Send + Sync + 'static {
    /// Starts a login: a fresh random state, PKCE verifier and nonce, expiring after a short while.
    fn authorize(&self, return_to: Option<String>, now: DateTime<Utc>) -> AuthorizationRequest;

    /// Finishes a login: exchanges the authorization code and returns the verified profile.
    async fn exchange(&self, code: &str, login: &PendingLogin) -> Result<NewUser, IdentityError>;
}

use chrono::{DateTime, Utc};

/// An OAuth login in flight, kept server-side so any instance can finish it.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// The `state` parameter: random, single use.
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
    /// Where the frontend wants to land after sign-in (a path, never a full URL).
    pub return_to: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("return_to", &self.return_to)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

use super::StoreError;
use crate::UserId;
use chrono::{DateTime, Utc};

/// Per-user session cutoffs: "every session of this user issued up to this time has ended"
/// (sign out everywhere, account deletion). Kept without a reference to the user row, so a
/// deleted user's old tokens stay dead even if the id were ever given out again.
#[async_trait::async_trait]
pub trait SessionCutoffStore {
    /// Ends the user's sessions issued up to `at`. A later cutoff replaces an earlier one; an
    /// earlier one never moves it back. Works for any user id.
    async fn end_sessions(&self, user: UserId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// The user's cutoff, if their sessions were ever ended this way.
    async fn sessions_ended_at(&self, user: UserId) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Every user's cutoff (what an in-memory mirror of the cutoffs loads at start).
    async fn session_cutoffs(&self) -> Result<Vec<(UserId, DateTime<Utc>)>, StoreError>;
}

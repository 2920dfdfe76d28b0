//! "A session ended" notices: logout, revocation and "sign out everywhere" must reach every
//! live connection using those sessions, on every instance, not only the next request.
//!
//! The store stays the source of truth (every authentication checks it); notices only tell the
//! edges *now* which long-lived connections (sockets) to close. A subscriber that may have
//! missed notices is told so ([`SessionNotice::Missed`]) and checks its sessions again.

use super::TokenId;
use crate::UserId;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

/// Sessions that ended before they expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnded {
    /// One token was revoked (logout).
    Token(TokenId),
    /// Every session of the user issued up to `issued_until` ended (sign out everywhere,
    /// account deletion). Tokens carry whole seconds: one issued in that second ended too.
    User { user: UserId, issued_until: DateTime<Utc> },
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionNotice {
    Ended(SessionEnded),
    /// Notices may have been lost (the subscriber lagged, or the backend reconnected): every
    /// live session should be checked against the store again.
    Missed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session notices unavailable: {0}")]
pub struct NoticeError(pub String);

/// Publishes ended sessions to every instance (this one included) and delivers them.
#[async_trait::async_trait]
pub trait SessionNotices: Send + Sync + 'static {
    async fn publish(&self, ended: SessionEnded) -> Result<(), NoticeError>;

    /// The notices published from now on, by any instance, in the order they were published.
    /// The stream ends if the backend goes away: subscribe again, then treat it as
    /// [`SessionNotice::Missed`].
    async fn subscribe(&self) -> Result<BoxStream<'static, SessionNotice>, NoticeError>;
}

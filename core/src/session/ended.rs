//! An in-memory mirror of the sessions that ended before they expired (revoked tokens and
//! per-user cutoffs), so authenticating a request needs no store round trip.
//!
//! The mirror answers only while it is exact: loaded from the store after subscribing to
//! [`SessionNotices`](super::SessionNotices) (so nothing published during the load is missed),
//! written through by this instance's logouts, and kept current by the notices of every other
//! instance. Whenever notices may have been lost (the subscription lagged or dropped) it stops
//! answering until it is loaded again, and authentication asks the store as before.

use super::{SessionClaims, SessionEnded, TokenId};
use crate::UserId;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::RwLock;

#[derive(Default)]
pub struct EndedSessions {
    state: RwLock<Mirror>,
}

#[derive(Default)]
struct Mirror {
    /// Whether `tokens` and `cutoffs` are the store's, as of now.
    exact: bool,
    /// Revoked tokens with their expiry (after which the codec refuses them anyway).
    tokens: HashMap<TokenId, DateTime<Utc>>,
    cutoffs: HashMap<UserId, DateTime<Utc>>,
}

/// Tokens carry whole seconds: a token issued in the cutoff's second counts as issued before it.
pub(crate) fn issued_by(claims: &SessionClaims, cutoff: DateTime<Utc>) -> bool {
    claims.issued_at.timestamp() <= cutoff.timestamp()
}

impl EndedSessions {
    /// Whether the session ended, if the mirror is exact; `None` means "ask the store".
    pub fn has_ended(&self, claims: &SessionClaims) -> Option<bool> {
        let m = self.read();
        m.exact.then(|| {
            m.tokens.contains_key(&claims.token_id)
                || m.cutoffs.get(&claims.user_id).is_some_and(|c| issued_by(claims, *c))
        })
    }

    /// Adds the store's ended sessions and makes the mirror answer. Ended sessions never come
    /// back, so what was written through while the store was read stays.
    pub fn load(&self, tokens: Vec<(TokenId, DateTime<Utc>)>, cutoffs: Vec<(UserId, DateTime<Utc>)>) {
        let mut m = self.write();
        m.tokens.extend(tokens);
        for (user, at) in cutoffs {
            m.end_user(user, at);
        }
        m.exact = true;
    }

    /// Notices may have been lost: ask the store until the next [`EndedSessions::load`].
    pub fn unsure(&self) {
        self.write().exact = false;
    }

    /// Applies an ended session: at once for this instance's own (with the token's expiry), and
    /// from every instance's notices (which carry no expiry: `token_expiry` is then the longest a
    /// session can live). The earlier expiry is kept; it matters only to
    /// [`EndedSessions::forget_expired`].
    pub fn apply(&self, ended: &SessionEnded, token_expiry: DateTime<Utc>) {
        let mut m = self.write();
        match ended {
            SessionEnded::Token(token) => {
                let at = m
                    .tokens
                    .get(token)
                    .map_or(token_expiry, |known| (*known).min(token_expiry));
                m.tokens.insert(token.clone(), at);
            }
            SessionEnded::User { user, issued_until } => m.end_user(*user, *issued_until),
        }
    }

    /// Drops revocations of tokens expired by `now` (the codec refuses those on its own).
    pub fn forget_expired(&self, now: DateTime<Utc>) -> usize {
        let mut m = self.write();
        let before = m.tokens.len();
        m.tokens.retain(|_, expires_at| *expires_at >= now);
        before - m.tokens.len()
    }

    /// How many revocations and cutoffs the mirror holds.
    pub fn counts(&self) -> (usize, usize) {
        let m = self.read();
        (m.tokens.len(), m.cutoffs.len())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Mirror> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Mirror> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Mirror {
    /// A later cutoff wins; an earlier one never moves it back.
    fn end_user(&mut self, user: UserId, at: DateTime<Utc>) {
        let cutoff = self.cutoffs.entry(user).or_insert(at);
        *cutoff = (*cutoff).max(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn claims(user: i64, token: &str, issued_at: DateTime<Utc>) -> SessionClaims {
        SessionClaims {
            user_id: UserId(user),
            token_id: TokenId::new(token),
            issued_at,
            expires_at: issued_at + Duration::hours(1),
        }
    }

    #[test]
    fn answers_only_once_loaded_and_not_after_notices_may_be_lost() {
        let mirror = EndedSessions::default();
        let now = Utc::now();
        let c = claims(1, "t", now);
        assert_eq!(mirror.has_ended(&c), None, "not loaded: ask the store");
        mirror.load(vec![], vec![]);
        assert_eq!(mirror.has_ended(&c), Some(false));
        mirror.unsure();
        assert_eq!(mirror.has_ended(&c), None);
        mirror.load(vec![(TokenId::new("t"), now + Duration::hours(1))], vec![]);
        assert_eq!(mirror.has_ended(&c), Some(true));
    }

    #[test]
    fn revocations_and_cutoffs_end_exactly_their_sessions() {
        let mirror = EndedSessions::default();
        let now = Utc::now();
        mirror.load(vec![], vec![]);
        mirror.apply(&SessionEnded::Token(TokenId::new("a")), now + Duration::minutes(5));
        mirror.apply(&SessionEnded::Token(TokenId::new("b")), now + Duration::hours(1));
        mirror.apply(
            &SessionEnded::User {
                user: UserId(7),
                issued_until: now,
            },
            now + Duration::hours(1),
        );
        assert_eq!(mirror.has_ended(&claims(1, "a", now)), Some(true));
        assert_eq!(mirror.has_ended(&claims(1, "b", now)), Some(true));
        assert_eq!(mirror.has_ended(&claims(1, "c", now)), Some(false));
        assert_eq!(
            mirror.has_ended(&claims(7, "d", now)),
            Some(true),
            "issued in the cutoff's second"
        );
        assert_eq!(
            mirror.has_ended(&claims(7, "e", now + Duration::seconds(1))),
            Some(false),
            "signed in after the cutoff"
        );
        // An earlier cutoff never moves it back.
        mirror.apply(
            &SessionEnded::User {
                user: UserId(7),
                issued_until: now - Duration::hours(1),
            },
            now,
        );
        assert_eq!(mirror.has_ended(&claims(7, "d", now)), Some(true));
    }

    #[test]
    fn what_is_written_through_during_a_load_survives_it() {
        let mirror = EndedSessions::default();
        let now = Utc::now();
        // Logout on this instance while the store is being read: the snapshot may predate it.
        mirror.apply(&SessionEnded::Token(TokenId::new("during")), now + Duration::hours(1));
        mirror.load(vec![(TokenId::new("before"), now + Duration::hours(1))], vec![]);
        assert_eq!(mirror.has_ended(&claims(1, "during", now)), Some(true));
        assert_eq!(mirror.has_ended(&claims(1, "before", now)), Some(true));
    }

    #[test]
    fn expired_revocations_are_forgotten() {
        let mirror = EndedSessions::default();
        let now = Utc::now();
        mirror.load(
            vec![
                (TokenId::new("old"), now - Duration::seconds(1)),
                (TokenId::new("live"), now + Duration::hours(1)),
            ],
            vec![(UserId(3), now)],
        );
        assert_eq!(mirror.forget_expired(now), 1);
        assert_eq!(mirror.counts(), (1, 1));
    }
}

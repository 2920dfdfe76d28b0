//! Sockets live no longer than their session: a socket is closed when its token is revoked
//! (logout), when every session of its user ends, and when its token expires, on whichever
//! instance it is connected to.
//!
//! Ended sessions arrive as [`SessionNotices`] (through Redis from every instance when
//! configured); the same notices keep the in-memory mirror of ended sessions that authenticates
//! every request ([`meai_core::service::Sessions::follow`]). A notice closes this instance's
//! sockets opened with that token, or by that user before the cutoff. Notices are rare, so they
//! are matched against every socket's session rather than indexed (rooms per token and user
//! would cost every socket memory). A subscriber that may have missed notices checks every
//! socket against the store again. Expiry needs no notice: a sweep closes expired sockets every
//! second, and an expired socket's events are refused before that ([`super::admission`]).

use crate::state::AppState;
use chrono::Utc;
use futures::StreamExt;
use meai_core::session::{SessionClaims, SessionEnded, SessionNotice};
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use std::sync::Arc;
use std::time::Duration;

/// The session a socket was opened with, in its extensions.
#[derive(Debug, Clone)]
pub struct SocketSession(pub Arc<SessionClaims>);

/// The `error` a socket gets before it is closed for its session.
pub const SESSION_ENDED: &str = "Your session has ended: sign in again";
pub const SESSION_EXPIRED: &str = "Your session has expired: sign in again";

/// Marks the socket as opened with `claims` (the connect middleware calls it).
pub fn enter(socket: &SocketRef, claims: SessionClaims) {
    socket.extensions.insert(SocketSession(Arc::new(claims)));
}

/// Whether a socket opened with `claims` must close for `ended`.
fn ends(claims: &SessionClaims, ended: &SessionEnded) -> bool {
    match ended {
        SessionEnded::Token(token) => claims.token_id == *token,
        // A socket of a sign-in after the cutoff stays.
        SessionEnded::User { user, issued_until } => {
            claims.user_id == *user && claims.issued_at.timestamp() <= issued_until.timestamp()
        }
    }
}

/// The socket's session, if it has one (every socket past the connect middleware has).
pub fn of(socket: &SocketRef) -> Option<Arc<SessionClaims>> {
    socket.extensions.get::<SocketSession>().map(|s| s.0)
}

/// Tells the socket why, then closes it.
pub fn close(socket: SocketRef, why: &str) {
    let _ = socket.emit("error", &super::wire::error(why, None));
    if let Err(e) = socket.clone().disconnect() {
        // Its buffer is full (a client that does not read): the heartbeat drops it soon; until
        // then admission refuses its events.
        super::admission::bar(&socket);
        tracing::debug!(sid = %socket.id, error = %e, "could not close a socket at once");
    }
}

/// Whether the socket's session still stands, asking the store (revocation and cutoff); an
/// unreachable store counts as standing, since the next request will tell.
pub async fn still_valid(state: &AppState, socket: &SocketRef) -> bool {
    let Some(claims) = of(socket) else { return false };
    if claims.expires_at <= Utc::now() {
        return false;
    }
    match state.sessions.has_ended(&claims).await {
        Ok(ended) => !ended,
        Err(e) => {
            tracing::warn!(error = %e, "could not recheck a socket's session");
            true
        }
    }
}

/// Starts following ended sessions and expiries for this Socket.IO server (no-op outside a tokio
/// runtime). The same subscription keeps the sessions' in-memory mirror of ended sessions, so
/// REST requests are authenticated without a store round trip while it is exact.
pub fn spawn(io: SocketIo, state: AppState) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(follow_notices(io.clone(), state.clone()));
        rt.spawn(sweep_expired(io));
        rt.spawn(purge_revocations(state));
    }
}

async fn follow_notices(io: SocketIo, state: AppState) {
    let mut retry = Duration::from_millis(250);
    let mut first = true;
    loop {
        match state.sessions.notices().subscribe().await {
            Ok(mut notices) => {
                retry = Duration::from_millis(250);
                remember_ended(&state).await;
                // Whatever ended while nobody listened: check every socket once.
                if !std::mem::take(&mut first) {
                    recheck_all(&io, &state).await;
                }
                while let Some(notice) = notices.next().await {
                    let reload = state.sessions.follow(&notice);
                    match notice {
                        SessionNotice::Ended(ended) => end(&io, &ended),
                        SessionNotice::Missed => recheck_all(&io, &state).await,
                    }
                    if reload {
                        remember_ended(&state).await;
                    }
                }
                state.sessions.forget_mirror();
                tracing::warn!("session notices ended; subscribing again");
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_s = retry.as_secs_f64(), "cannot listen for ended sessions");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Loads the mirror of ended sessions; if the store cannot be read, the store keeps answering.
async fn remember_ended(state: &AppState) {
    if let Err(e) = state.sessions.remember_ended().await {
        tracing::warn!(error = %e, "could not load ended sessions: each request asks the store");
    }
}

/// Revocations outlive their tokens only until this sweep.
async fn purge_revocations(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.sessions.purge_expired().await {
            Ok(n) if n > 0 => tracing::info!(purged = n, "revocations of expired tokens forgotten"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not purge expired revocations"),
        }
    }
}

fn end(io: &SocketIo, ended: &SessionEnded) {
    let Some(ns) = io.of(super::NAMESPACE) else { return };
    for socket in ns.sockets() {
        if of(&socket).is_none_or(|claims| ends(&claims, ended)) {
            close(socket, SESSION_ENDED);
        }
    }
}

async fn recheck_all(io: &SocketIo, state: &AppState) {
    let Some(ns) = io.of(super::NAMESPACE) else { return };
    let sockets = ns.sockets();
    tracing::info!(sockets = sockets.len(), "checking every socket's session again");
    for socket in sockets {
        if !still_valid(state, &socket).await {
            close(socket, SESSION_ENDED);
        }
    }
}

async fn sweep_expired(io: SocketIo) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(ns) = io.of(super::NAMESPACE) else { continue };
        let now = Utc::now();
        for socket in ns.sockets() {
            if of(&socket).is_some_and(|c| c.expires_at <= now) {
                close(socket, SESSION_EXPIRED);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use meai_core::UserId;
    use meai_core::session::TokenId;

    #[test]
    fn a_notice_ends_the_sockets_of_its_token_or_of_its_user_before_the_cutoff() {
        let now = Utc::now();
        let claims = SessionClaims {
            user_id: UserId(1),
            token_id: TokenId::new("t1"),
            issued_at: now - Duration::minutes(5),
            expires_at: now + Duration::days(1),
        };
        assert!(ends(&claims, &SessionEnded::Token(TokenId::new("t1"))));
        assert!(!ends(&claims, &SessionEnded::Token(TokenId::new("t2"))));
        let user = |user, issued_until| SessionEnded::User { user, issued_until };
        assert!(ends(&claims, &user(UserId(1), now)));
        assert!(!ends(&claims, &user(UserId(2), now)), "another user's");
        assert!(
            !ends(&claims, &user(UserId(1), now - Duration::minutes(10))),
            "signed in after the cutoff"
        );
    }
}

//! Authentication against the in-memory mirror of ended sessions: it answers only once loaded,
//! takes this instance's logouts at once and other instances' through notices, and hands back to
//! the store whenever notices may have been lost.

use chrono::{Duration, Utc};
use meai_core::service::{SessionPolicy, Sessions};
use meai_core::session::{SessionEnded, SessionNotice, TokenId};
use meai_core::store::{RevocationStore, SessionCutoffStore};
use meai_core::{AuthMethod, CoreError, Email, NewUser};
use meai_mock::{LocalNotices, MemoryCodec, MemoryStore};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn sessions(store: Arc<MemoryStore>) -> Sessions {
    let next = AtomicU64::new(0);
    Sessions::new(
        store,
        Arc::new(MemoryCodec::default()),
        Arc::new(LocalNotices::default()),
        SessionPolicy {
            lifetime: Duration::hours(1),
        },
        move || TokenId::new(format!("token-{}", next.fetch_add(1, Ordering::Relaxed))),
    )
}

fn person() -> NewUser {
    named("ada@example.com")
}

fn named(email: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    }
}

async fn refused(sessions: &Sessions, token: &str) -> bool {
    matches!(sessions.authenticate(token).await, Err(CoreError::Unauthenticated))
}

#[tokio::test]
async fn the_loaded_mirror_holds_what_ended_before_the_start() {
    let store = Arc::new(MemoryStore::default());
    let first = sessions(store.clone());
    let (_, token, claims) = first.sign_in(&person()).await.unwrap();
    let (_, other, other_claims) = first.sign_in(&named("grace@example.com")).await.unwrap();
    first.logout(&claims).await.unwrap();
    store
        .end_sessions(other_claims.user_id, other_claims.issued_at)
        .await
        .unwrap();

    // A restarted instance: its mirror is loaded from the store.
    let restarted = sessions(store.clone());
    restarted.remember_ended().await.unwrap();
    assert!(refused(&restarted, token.expose()).await, "revoked before the restart");
    assert!(refused(&restarted, other.expose()).await, "cut off before the restart");
}

#[tokio::test]
async fn a_logout_here_or_a_notice_from_elsewhere_ends_the_session_at_once() {
    let store = Arc::new(MemoryStore::default());
    let sessions = sessions(store.clone());
    sessions.remember_ended().await.unwrap();
    let (_, mine, my_claims) = sessions.sign_in(&person()).await.unwrap();
    let (_, theirs, their_claims) = sessions.sign_in(&person()).await.unwrap();
    assert!(sessions.authenticate(mine.expose()).await.is_ok());

    sessions.logout(&my_claims).await.unwrap();
    assert!(refused(&sessions, mine.expose()).await, "written through on logout");

    // Another instance revoked the token: the store has it, the notice tells this instance.
    store
        .revoke_token(&their_claims.token_id, their_claims.expires_at)
        .await
        .unwrap();
    assert!(
        sessions.authenticate(theirs.expose()).await.is_ok(),
        "the exact mirror answers without the store until the notice arrives"
    );
    let reload = sessions.follow(&SessionNotice::Ended(SessionEnded::Token(
        their_claims.token_id.clone(),
    )));
    assert!(!reload);
    assert!(refused(&sessions, theirs.expose()).await);
}

#[tokio::test]
async fn after_missed_notices_the_store_answers_until_the_mirror_is_loaded_again() {
    let store = Arc::new(MemoryStore::default());
    let sessions = sessions(store.clone());
    sessions.remember_ended().await.unwrap();
    let (_, token, claims) = sessions.sign_in(&person()).await.unwrap();

    assert!(
        sessions.follow(&SessionNotice::Missed),
        "a missed notice asks for a reload"
    );
    // The notice of this revocation was the one lost.
    store.revoke_token(&claims.token_id, claims.expires_at).await.unwrap();
    assert!(refused(&sessions, token.expose()).await, "the store answers meanwhile");
    sessions.remember_ended().await.unwrap();
    assert!(
        refused(&sessions, token.expose()).await,
        "and the reloaded mirror has it"
    );

    sessions.forget_mirror();
    let (_, again, _) = sessions.sign_in(&person()).await.unwrap();
    assert!(sessions.authenticate(again.expose()).await.is_ok());
}

#[tokio::test]
async fn purging_forgets_only_expired_revocations() {
    let store = Arc::new(MemoryStore::default());
    let sessions = sessions(store.clone());
    let now = Utc::now();
    store
        .revoke_token(&TokenId::new("expired"), now - Duration::minutes(1))
        .await
        .unwrap();
    store
        .revoke_token(&TokenId::new("live"), now + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(sessions.purge_expired().await.unwrap(), 1);
    assert!(store.is_token_revoked(&TokenId::new("live")).await.unwrap());
}

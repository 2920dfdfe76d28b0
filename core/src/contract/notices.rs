//! The [`SessionNotices`] contract, written once and run against every adapter.

use crate::UserId;
use crate::session::{SessionEnded, SessionNotice, SessionNotices, TokenId};
use chrono::{SubsecRound, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use std::time::Duration;

async fn next(notices: &mut BoxStream<'static, SessionNotice>) -> SessionNotice {
    tokio::time::timeout(Duration::from_secs(5), notices.next())
        .await
        .expect("a notice arrives")
        .expect("the subscription is open")
}

/// Runs every check. Each call of `instance` is another instance sharing the same notices (the
/// same in-process channel, or the same Redis and prefix).
pub async fn session_notices_contract<N: SessionNotices, F: Fn() -> N>(instance: F) {
    everyone_hears_every_notice_in_order(&instance).await;
    only_later_notices_are_delivered(&instance).await;
}

async fn everyone_hears_every_notice_in_order<N: SessionNotices>(instance: &impl Fn() -> N) {
    let (a, b) = (instance(), instance());
    let mut on_a = a.subscribe().await.unwrap();
    let mut on_b = b.subscribe().await.unwrap();
    let token = SessionEnded::Token(TokenId::new("tok-1"));
    // Whole seconds: what tokens carry, and what every backend keeps exactly.
    let user = SessionEnded::User {
        user: UserId(7),
        issued_until: Utc::now().trunc_subsecs(0),
    };
    a.publish(token.clone()).await.unwrap();
    b.publish(user.clone()).await.unwrap();
    for subscription in [&mut on_a, &mut on_b] {
        assert_eq!(next(subscription).await, SessionNotice::Ended(token.clone()));
        assert_eq!(next(subscription).await, SessionNotice::Ended(user.clone()));
    }
}

async fn only_later_notices_are_delivered<N: SessionNotices>(instance: &impl Fn() -> N) {
    let a = instance();
    a.publish(SessionEnded::Token(TokenId::new("before")))
        .await
        .expect("publishing without subscribers is fine");
    let mut notices = instance().subscribe().await.unwrap();
    let after = SessionEnded::Token(TokenId::new("after"));
    a.publish(after.clone()).await.unwrap();
    assert_eq!(next(&mut notices).await, SessionNotice::Ended(after));
}

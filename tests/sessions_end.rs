//! A socket lives no longer than its session: logout, "end every session of a user" and expiry
//! close the sockets using it, and what such a socket tries to send is not stored. Driven by the
//! npm socket.io-client (tests/node/client.mjs) against one instance; the same across two
//! instances through Redis is in tests/multi_instance.rs.
//!
//! Needs `npm ci` in tests/node (`cargo xtask test` does it).

mod common;

use common::node::{named, run_client};
use common::{TestApp, spawn_mock_app};
use meai_core::session::SessionNotice;
use meai_core::{ConversationId, MessageKind, Page, UserId};
use serde_json::{Value, json};
use std::time::Duration;

const ENDED: &str = "Your session has ended: sign in again";

/// A signed-in user with a conversation: the cookie header and the ids.
async fn user_with_conversation(app: &TestApp, email: &str) -> (String, UserId, ConversationId) {
    let (user, token) = app.other_user(email).await;
    let conv = app.state.conversations.create(user.id, None).await.unwrap();
    let cookie = format!("{}={}", app.state.config.cookie_name, token.expose());
    (cookie, user.id, conv.id)
}

async fn humans(app: &TestApp, user: UserId, conv: ConversationId) -> usize {
    let all = app.state.conversations.messages(user, conv, Page::all()).await.unwrap();
    all.iter().filter(|m| m.kind == MessageKind::Human).count()
}

fn connect_and_join(cookie: &str, conv: ConversationId) -> Vec<Value> {
    vec![
        json!({"connect": {"cookie": cookie}}),
        json!({"wait": "connect"}),
        json!({"emit": "join_conversation", "data": {"conversation_id": conv.0}}),
        json!({"wait": "joined"}),
    ]
}

/// After its session ended: the socket is gone, what it sends goes nowhere, and connecting again
/// with the same cookie is refused.
fn then_try_again(cookie: &str, conv: ConversationId) -> Vec<Value> {
    vec![
        json!({"emit": "message", "data": {"content": "still there?", "conversation_id": conv.0}}),
        json!({"connect": {"cookie": cookie}}),
        json!({"wait": "connect_error"}),
        json!({"emit": "message", "data": {"content": "and now?", "conversation_id": conv.0}}),
        json!({"sleep": 300}),
    ]
}

fn plan(steps: impl IntoIterator<Item = Vec<Value>>) -> Value {
    Value::Array(steps.into_iter().flatten().collect())
}

fn assert_closed_for_its_session(lines: &[Value], why: &str) {
    let disconnects = named(lines, "disconnect");
    assert_eq!(disconnects.len(), 1, "{lines:?}");
    assert_eq!(disconnects[0]["data"]["reason"], "io server disconnect", "{lines:?}");
    assert!(
        named(lines, "error").iter().any(|e| e["data"]["error"] == why),
        "told why: {lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_disconnects_the_open_socket_within_a_second_and_its_messages_are_not_stored() {
    let app = spawn_mock_app(&[], |a| a).await;
    let (cookie, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let lines = run_client(
        &app,
        plan([
            connect_and_join(&cookie, conv),
            vec![
                json!({"http": {"method": "POST", "path": "/auth/logout", "cookie": cookie}}),
                json!({"wait": "disconnect", "timeout_ms": 1000}),
            ],
            then_try_again(&cookie, conv),
        ]),
    )
    .await;
    assert_eq!(named(&lines, "http")[0]["data"]["status"], 200);
    assert_closed_for_its_session(&lines, ENDED);
    assert_eq!(
        named(&lines, "connect_error")[0]["data"]["message"],
        "Not authenticated"
    );
    assert_eq!(humans(&app, user, conv).await, 0, "nothing it sent was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_whose_notice_was_missed_still_stops_the_next_message() {
    // The store is the source of truth: a socket whose token was revoked while its notice was
    // lost (the subscriber is told notices were missed, and the in-memory copy of ended sessions
    // stops answering) is closed when it sends, and nothing is stored.
    let app = spawn_mock_app(&[], |a| a).await;
    let (cookie, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let token = cookie.split_once('=').unwrap().1.to_owned();
    let claims = app.state.sessions.authenticate(&token).await.unwrap();
    let revoke = async {
        sockets_connected(&app, 1).await;
        app.state
            .store
            .revoke_token(&claims.token_id, claims.expires_at)
            .await
            .unwrap();
        app.state.sessions.follow(&SessionNotice::Missed);
    };
    let client = run_client(
        &app,
        plan([
            connect_and_join(&cookie, conv),
            vec![
                json!({"sleep": 2500}),
                json!({"emit": "message", "data": {"content": "Hello", "conversation_id": conv.0}}),
                json!({"wait": "disconnect", "timeout_ms": 5000}),
            ],
        ]),
    );
    let (lines, ()) = tokio::join!(client, revoke);
    assert_closed_for_its_session(&lines, ENDED);
    assert_eq!(humans(&app, user, conv).await, 0);
}

/// Waits until `n` sockets are connected to the app.
async fn sockets_connected(app: &TestApp, n: usize) {
    for _ in 0..400 {
        // The socket server is registered when the server starts serving.
        let connected = app.state.ops.sockets().and_then(|io| io.of("/conversations/stream"));
        if connected.map_or(0, |ns| ns.sockets().len()) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{n} sockets never connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_every_session_of_a_user_closes_all_their_sockets_and_no_one_elses() {
    let app = spawn_mock_app(&[], |a| a).await;
    let (first, ada, conv) = user_with_conversation(&app, "ada@example.com").await;
    // A second session of the same person (another browser).
    let (_, second) = app.other_user("ada@example.com").await;
    let second = format!("{}={}", app.state.config.cookie_name, second.expose());
    let (other, grace, other_conv) = user_with_conversation(&app, "grace@example.com").await;

    let ended = |cookie: &str| {
        plan([
            vec![
                json!({"connect": {"cookie": cookie}}),
                json!({"wait": "connect"}),
                json!({"wait": "disconnect", "timeout_ms": 10000}),
            ],
            then_try_again(cookie, conv),
        ])
    };
    let stays = plan([
        connect_and_join(&other, other_conv),
        vec![
            json!({"sleep": 1500}),
            json!({"emit": "join_conversation", "data": {"conversation_id": other_conv.0}}),
            json!({"wait": "joined", "count": 2}),
        ],
    ]);
    let clients = futures::future::join3(
        run_client(&app, ended(&first)),
        run_client(&app, ended(&second)),
        run_client(&app, stays),
    );
    let end_all = async {
        sockets_connected(&app, 3).await;
        app.state.sessions.end_all(ada).await.unwrap();
    };
    let ((a, b, g), ()) = tokio::join!(clients, end_all);
    assert_closed_for_its_session(&a, ENDED);
    assert_closed_for_its_session(&b, ENDED);
    assert!(
        named(&g, "disconnect")
            .iter()
            .all(|d| d["data"]["reason"] == "io client disconnect"),
        "only closed by the client itself, at the end: {g:?}"
    );
    assert!(named(&g, "error").is_empty(), "{g:?}");
    assert_eq!(humans(&app, ada, conv).await, 0);
    assert_eq!(humans(&app, grace, other_conv).await, 0);
    // Signing in again opens a session that works.
    let (_, fresh) = app.other_user("ada@example.com").await;
    assert!(app.state.sessions.authenticate(fresh.expose()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_closes_its_socket_and_refuses_its_events() {
    // Sessions of this server live 4 seconds.
    let app = spawn_mock_app(&[("COOKIE_MAX_AGE", "4")], |a| a).await;
    let (cookie, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let lines = run_client(
        &app,
        plan([
            connect_and_join(&cookie, conv),
            vec![json!({"wait": "disconnect", "timeout_ms": 10000})],
            then_try_again(&cookie, conv),
        ]),
    )
    .await;
    assert_closed_for_its_session(&lines, "Your session has expired: sign in again");
    assert_eq!(humans(&app, user, conv).await, 0);
}

//! What a person is told when the model provider fails: a short sentence saying what to do,
//! never the provider's own text (which echoes key fragments and organisation ids). Driven over
//! Socket.IO (tests/node/client.mjs) against the wire-level fake OpenAI server.
//!
//! Needs `npm ci` in tests/node (`cargo xtask test` does it).

mod common;

use common::node::{named, run_client};
use common::spawn_app_with;
use meai_testkit::openai::{FakeOpenAi, Reply};
use serde_json::json;

/// The provider's error body, with what must never reach a user.
fn leaky(status: u16) -> Reply {
    Reply::error(status).with_error_body(json!({"error": {
        "message": "Incorrect API key provided: sk-live-****T123. Org: org-S3CRET",
        "type": "invalid_request_error",
        "code": "invalid_api_key"
    }}))
}

/// The `error` a socket gets for one message while the provider answers `replies`.
async fn error_text(replies: Vec<Reply>) -> String {
    let fake = FakeOpenAi::start().await;
    fake.push_all(replies);
    let app = spawn_app_with(&[
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-live-abcdefgh1234T123"),
        ("OPENAI_BASE_URL", &fake.base_url()),
    ])
    .await;
    let (user, token) = app.other_user("ada@example.com").await;
    let conv = app.state.conversations.create(user.id, None).await.unwrap();
    let cookie = format!("{}={}", app.state.config.cookie_name, token.expose());
    let lines = run_client(
        &app,
        json!([
            {"connect": {"cookie": cookie}},
            {"wait": "connect"},
            {"emit": "message", "data": {"content": "Hi", "conversation_id": conv.id.0}},
            {"wait": "last_chunk", "timeout_ms": 20000}
        ]),
    )
    .await;
    let errors = named(&lines, "error");
    assert_eq!(errors.len(), 1, "{lines:?}");
    let text = errors[0]["data"]["error"].as_str().unwrap().to_owned();
    for secret in ["sk-", "T123", "org-", "S3CRET", "Incorrect API key"] {
        assert!(!text.contains(secret), "{secret} reached the user: {text}");
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_tells_to_check_the_servers_api_key() {
    assert_eq!(
        error_text(vec![leaky(401)]).await,
        "The assistant could not answer: the model provider refused the request: check the server's API key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiting_tells_to_try_again() {
    // Retried until the attempts run out (Retry-After: 0 keeps the test short).
    let replies = (0..3).map(|_| leaky(429).with_retry_after(0)).collect();
    assert_eq!(
        error_text(replies).await,
        "The assistant could not answer: the model provider is rate limiting this server: try again in a moment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_failure_names_the_status_and_tells_to_try_again() {
    let replies = (0..3).map(|_| leaky(500)).collect();
    assert_eq!(
        error_text(replies).await,
        "The assistant could not answer: the model provider failed (HTTP 500): try again in a moment"
    );
}

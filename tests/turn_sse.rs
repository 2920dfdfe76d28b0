//! The assistant turn over HTTP: `POST /conversations/{id}/messages` answers Server-Sent Events
//! (the Socket.IO events), and `POST /conversations/{id}/stop`.

mod common;

use common::sse::frames;
use common::{TestApp, json, spawn_app_with};
use meai_core::turn::{NO_MODEL, STOPPED_MARK};
use meai_core::{ConversationId, MessageKind, Page, UserId};
use meai_testkit::openai::{FakeOpenAi, Reply};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

async fn setup(fake: Option<&FakeOpenAi>) -> (TestApp, String, UserId, ConversationId) {
    let app = match fake {
        Some(f) => {
            spawn_app_with(&[
                ("MODEL", "openai"),
                ("OPENAI_API_KEY", "sk-test"),
                ("OPENAI_BASE_URL", &f.base_url()),
            ])
            .await
        }
        None => spawn_app_with(&[]).await,
    };
    let (user, token) = app.other_user("ada@example.com").await;
    let conv = app.state.conversations.create(user.id, None).await.unwrap();
    (app, token.expose().to_owned(), user.id, conv.id)
}

fn send(app: &TestApp, token: &str, conv: ConversationId, body: Value) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(app.url(&format!("/conversations/{}/messages", conv.0)))
        .bearer_auth(token)
        .json(&body)
}

#[tokio::test]
async fn a_message_is_answered_as_server_sent_events() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(["Hel", "lo"]));
    let (app, token, user, conv) = setup(Some(&fake)).await;
    let resp = send(&app, &token, conv, serde_json::json!({"content": "Hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = resp.text().await.unwrap();
    let frames = frames(&body);
    let names: Vec<&str> = frames.iter().map(|f| f.event.as_str()).collect();
    assert_eq!(names, ["assistant", "assistant", "last_chunk"], "{body}");
    assert_eq!(frames[0].data["role"], "assistant");
    assert_eq!(frames[0].data["content"], "Hel");
    // The run's first event (`human`, the question) is for the conversation's other tabs.
    assert_eq!(frames[0].id.as_deref(), Some("2"));
    assert_eq!(frames[2].data["last_chunk"], true);
    assert_eq!(frames[2].data["stopped"], false);
    let stored = app.state.conversations.messages(user, conv, Page::all()).await.unwrap();
    assert_eq!(stored[1].kind, MessageKind::Ai);
    assert_eq!(stored[1].content, "Hello");
}

#[tokio::test]
async fn without_a_model_the_stream_carries_the_error() {
    let (app, token, _, conv) = setup(None).await;
    let body = send(&app, &token, conv, serde_json::json!({"content": "Hi"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let frames = frames(&body);
    assert_eq!(frames[0].event, "error");
    assert_eq!(frames[0].data["error"], NO_MODEL);
    assert_eq!(frames[1].event, "last_chunk");
}

#[tokio::test]
async fn invalid_missing_and_foreign_conversations_are_refused_with_detail() {
    let (app, token, _, conv) = setup(None).await;
    let resp = send(&app, &token, conv, serde_json::json!({"content": "  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp).await["detail"], "Message content is required");

    let resp = send(&app, &token, conv, serde_json::json!({"nope": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(json(resp).await["detail"].is_string());

    let (_, bob) = app.other_user("bob@example.com").await;
    let resp = send(&app, bob.expose(), conv, serde_json::json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(resp).await["detail"], "Conversation not found");

    let resp = reqwest::Client::new()
        .post(app.url(&format!("/conversations/{}/messages", conv.0)))
        .json(&serde_json::json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stop_cuts_the_answer_and_a_second_message_meanwhile_is_a_conflict() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(vec!["w "; 100]).with_chunk_delay(Duration::from_millis(50)));
    let (app, token, user, conv) = setup(Some(&fake)).await;
    let stop_url = app.url(&format!("/conversations/{}/stop", conv.0));

    let resp = reqwest::Client::new()
        .post(&stop_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT, "nothing to stop yet");
    assert!(json(resp).await["detail"].as_str().unwrap().contains("No reply"));

    let mut resp = send(&app, &token, conv, serde_json::json!({"content": "Count"}))
        .send()
        .await
        .unwrap();
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("assistant"));

    let busy = send(&app, &token, conv, serde_json::json!({"content": "again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), StatusCode::CONFLICT);
    assert!(
        json(busy).await["detail"]
            .as_str()
            .unwrap()
            .contains("still being generated")
    );

    let resp2 = reqwest::Client::new()
        .post(&stop_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp2.status(), StatusCode::OK);
    let mut rest = String::from_utf8_lossy(&first).into_owned();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    let last = frames(&rest).pop().unwrap();
    assert_eq!(last.event, "last_chunk");
    assert_eq!(last.data["stopped"], true);
    let stored = app.state.conversations.messages(user, conv, Page::all()).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored[1].content.ends_with(STOPPED_MARK));
}

//! One turn-start path: the same bad input gets the same refusal over SSE
//! (`POST /conversations/{id}/messages`: status + `{"detail"}`) and over Socket.IO (`message`:
//! `error {error}` with the same text, then `last_chunk`), and nothing is stored. Over the app
//! built on the mock adapters; the socket side is the real npm socket.io-client.

mod common;

use common::node::run_client;
use common::spawn_mock_app;
use meai_core::{ConversationId, Page};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_the_same_refusal_on_both_transports() {
    let app = spawn_mock_app(&[("MAX_MESSAGE_CHARS", "10"), ("MESSAGE_RATE_PER_MINUTE", "0")], |a| a).await;
    let (user, token) = app.other_user("ada@example.com").await;
    let conv = app.state.conversations.create(user.id, None).await.unwrap().id;
    let missing = ConversationId(conv.0 + 1000);
    let long_id = "x".repeat(200);
    let cases: Vec<(ConversationId, Value)> = vec![
        (conv, json!({})),
        (conv, json!({"content": null})),
        (conv, json!({"content": ["a"]})),
        (conv, json!({"content": "   "})),
        (conv, json!({"content": "far more than ten characters"})),
        (conv, json!({"content": "hi", "client_message_id": long_id})),
        (conv, json!({"content": "hi", "client_message_id": ""})),
        (missing, json!({"content": "hi"})),
    ];

    let http = reqwest::Client::new();
    let mut over_sse = Vec::new();
    for (id, body) in &cases {
        let resp = http
            .post(app.url(&format!("/conversations/{}/messages", id.0)))
            .bearer_auth(token.expose())
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!((400..500).contains(&status), "{body}: {status}");
        let detail: Value = resp.json().await.unwrap();
        over_sse.push(detail["detail"].as_str().expect("a detail").to_owned());
    }

    let cookie = format!("{}={}", app.state.config.cookie_name, token.expose());
    let mut plan = vec![json!({"connect": {"cookie": cookie}}), json!({"wait": "connect"})];
    for (n, (id, body)) in cases.iter().enumerate() {
        let mut data = body.clone();
        data["conversation_id"] = json!(id.0);
        plan.push(json!({"emit": "message", "data": data}));
        plan.push(json!({"wait": "last_chunk", "count": n + 1}));
    }
    let lines = run_client(&app, Value::Array(plan)).await;
    let events: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["event"].as_str())
        .filter(|e| !["connect", "disconnect", "done"].contains(e))
        .collect();
    assert_eq!(events, ["error", "last_chunk"].repeat(cases.len()), "{lines:?}");
    let over_socket: Vec<String> = lines
        .iter()
        .filter(|l| l["event"] == "error")
        .map(|l| l["data"]["error"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(over_socket, over_sse);
    assert_eq!(over_sse[0], "Message content is required", "{over_sse:?}");
    assert!(over_sse[2].starts_with("Invalid request body"), "{over_sse:?}");
    assert_eq!(over_sse[3], "Message content is required");
    assert_eq!(over_sse[4], "Message content must be at most 10 characters");
    assert_eq!(over_sse[5], "client_message_id must be 1 to 128 characters");
    assert_eq!(over_sse[7], "Conversation not found");
    let stored = app
        .state
        .conversations
        .messages(user.id, conv, Page::all())
        .await
        .unwrap();
    assert!(stored.is_empty(), "nothing refused is stored: {stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_rate_both_transports_say_the_same() {
    let app = spawn_mock_app(&[("MESSAGE_RATE_PER_MINUTE", "1")], |a| a).await;
    let (user, token) = app.other_user("ada@example.com").await;
    let conv = app.state.conversations.create(user.id, None).await.unwrap().id;
    let send = || {
        reqwest::Client::new()
            .post(app.url(&format!("/conversations/{}/messages", conv.0)))
            .bearer_auth(token.expose())
            .json(&json!({"content": "hi"}))
            .send()
    };
    // The first is admitted (and answered with an error: the mock app has no model).
    assert_eq!(send().await.unwrap().status(), 200);
    let refused = send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let detail = refused.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = format!("{}={}", app.state.config.cookie_name, token.expose());
    let plan = json!([
        {"connect": {"cookie": cookie}}, {"wait": "connect"},
        {"emit": "message", "data": {"content": "hi", "conversation_id": conv.0}},
        {"wait": "last_chunk"}
    ]);
    let lines = run_client(&app, plan).await;
    let error = lines.iter().find(|l| l["event"] == "error").expect("an error event");
    // Same sentence; the seconds to wait may have ticked down meanwhile.
    let words = |s: &str| {
        s.split_whitespace()
            .filter(|w| w.parse::<u64>().is_err())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(words(error["data"]["error"].as_str().unwrap()), words(&detail));
}

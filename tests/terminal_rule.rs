//! The one terminal rule, on both transports: every `message` gets exactly one `last_chunk`,
//! after its last event, whatever happens: an answer, a model failure, a stop, or a refusal
//! (bad payload, limits, a missing or someone else's conversation, busy). Over Socket.IO a
//! refusal is `error` then `last_chunk` (without `seq`: no run was started); over SSE it is an
//! HTTP error with `{"detail"}` before any stream, and every stream ends with one `last_chunk`.

mod common;

use common::node::run_client;
use common::sse::frames;
use common::{TestApp, spawn_app_with};
use meai_core::{Title, UserId};
use meai_testkit::openai::{FakeOpenAi, Reply};
use serde_json::{Value, json};
use std::time::Duration;

async fn app_with(fake: &FakeOpenAi) -> TestApp {
    spawn_app_with(&[
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &fake.base_url()),
        ("MAX_MESSAGE_CHARS", "40"),
        ("MODEL_CHUNK_TIMEOUT_SECONDS", "1"),
    ])
    .await
}

/// A titled conversation: no titling request takes a scripted reply of the fake.
async fn titled(app: &TestApp, user: UserId) -> i64 {
    let title = Title::parse("Faults").unwrap();
    app.state.conversations.create(user, Some(title)).await.unwrap().id.0
}

/// What the socket received for one `message`: its events, from its emit to its `last_chunk`.
fn turns(lines: &[Value]) -> Vec<Vec<(String, Value)>> {
    let mut turns = vec![Vec::new()];
    for l in lines {
        let event = l["event"].as_str().unwrap_or_default();
        if ["connect", "disconnect", "joined", "done", "human"].contains(&event) {
            continue;
        }
        turns.last_mut().unwrap().push((event.to_owned(), l["data"].clone()));
        if event == "last_chunk" {
            turns.push(Vec::new());
        }
    }
    assert!(
        turns.last().unwrap().is_empty(),
        "nothing after the last last_chunk: {turns:?}"
    );
    turns.pop();
    turns
}

fn names(turn: &[(String, Value)]) -> Vec<&str> {
    turn.iter().map(|(n, _)| n.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_message_ends_with_exactly_one_last_chunk() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::text("Hello there."));
    // Fails three times (the adapter's attempts): the answer fails before its first token.
    for _ in 0..3 {
        fake.push(Reply::error(500));
    }
    fake.push(Reply::stall_after(["Half "]).with_keep_alives(Duration::from_millis(100)));
    let app = app_with(&fake).await;
    let (user, token) = app.other_user("ada@example.com").await;
    let mine = titled(&app, user.id).await;
    let (other, _) = app.other_user("bob@example.com").await;
    let theirs = app.state.conversations.create(other.id, None).await.unwrap().id.0;
    let cookie = format!("{}={}", app.state.config.cookie_name, token.expose());
    let send = |data: Value, n: u32| {
        vec![
            json!({"emit": "message", "data": data}),
            json!({"wait": "last_chunk", "count": n, "timeout_ms": 15000}),
        ]
    };
    let plan: Vec<Value> = [
        vec![
            json!({"connect": {"cookie": cookie}}),
            json!({"wait": "connect"}),
            // Before joining: no conversation to send to.
            json!({"emit": "message", "data": {"content": "Hi"}}),
            json!({"wait": "last_chunk", "count": 1}),
            json!({"emit": "join_conversation", "data": {"conversation_id": mine}}),
            json!({"wait": "joined"}),
        ],
        send(json!({"content": "Hi"}), 2),
        send(json!({"content": 5}), 3),
        send(json!({"content": "   "}), 4),
        send(json!({"content": "x".repeat(41)}), 5),
        send(json!({"content": "Hi", "conversation_id": theirs}), 6),
        send(json!({"content": "Hi", "conversation_id": 999_999_999}), 7),
        send(json!({"content": "Hi", "client_message_id": ""}), 8),
        send(json!("just text"), 9),
        send(json!({"content": "Fail please"}), 10),
        // A hanging answer, and a second message while it is being written: the second is
        // refused at once; the first ends at its timeout.
        vec![
            json!({"emit": "message", "data": {"content": "Hang"}}),
            json!({"wait": "assistant", "count": 3}),
            json!({"emit": "message", "data": {"content": "Me too"}}),
            json!({"wait": "last_chunk", "count": 12, "timeout_ms": 15000}),
        ],
    ]
    .concat();
    let lines = run_client(&app, Value::Array(plan)).await;
    let turns = turns(&lines);
    assert_eq!(turns.len(), 12, "one last_chunk per message: {turns:?}");

    let refused = |turn: &[(String, Value)], why: &str| {
        assert_eq!(names(turn), ["error", "last_chunk"], "{why}: {turn:?}");
        assert!(turn[1].1["seq"].is_null(), "{why}: no run, no seq");
        assert_eq!(turn[1].1["last_chunk"], true);
    };
    refused(&turns[0], "before joining");
    assert_eq!(names(&turns[1]).last(), Some(&"last_chunk"));
    assert!(
        names(&turns[1]).iter().all(|n| *n == "assistant" || *n == "last_chunk"),
        "{:?}",
        turns[1]
    );
    refused(&turns[2], "content is not text");
    refused(&turns[3], "blank content");
    refused(&turns[4], "too long");
    refused(&turns[5], "someone else's conversation");
    refused(&turns[6], "a missing conversation");
    refused(&turns[7], "an empty client_message_id");
    refused(&turns[8], "not an object");
    // The model failed: the run ends with its error, then last_chunk (with a seq).
    assert_eq!(names(&turns[9]), ["error", "last_chunk"], "{:?}", turns[9]);
    assert!(turns[9][1].1["seq"].is_u64());
    // The refused second message ends first, within the hanging answer's events.
    assert_eq!(
        names(&turns[10]),
        ["assistant", "error", "last_chunk"],
        "{:?}",
        turns[10]
    );
    assert!(
        turns[10][1].1["error"]
            .as_str()
            .unwrap()
            .contains("still being generated")
    );
    assert!(turns[10][2].1["seq"].is_null(), "the refusal's own end");
    assert_eq!(
        names(&turns[11]),
        ["error", "last_chunk"],
        "the hung answer's end: {:?}",
        turns[11]
    );
    assert!(turns[11][1].1["seq"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sse_answer_ends_with_exactly_one_last_chunk_and_refusals_are_http_errors() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::text("Hello there."));
    for _ in 0..3 {
        fake.push(Reply::error(500));
    }
    fake.push(Reply::stall_after(["Half "]).with_keep_alives(Duration::from_millis(100)));
    let app = app_with(&fake).await;
    let (user, token) = app.other_user("ada@example.com").await;
    let conv = titled(&app, user.id).await;
    let (other, _) = app.other_user("bob@example.com").await;
    let theirs = app.state.conversations.create(other.id, None).await.unwrap().id.0;
    let http = reqwest::Client::new();
    let post = |conv: i64, body: Value| {
        http.post(app.url(&format!("/conversations/{conv}/messages")))
            .bearer_auth(token.expose())
            .json(&body)
            .send()
    };
    let stream_of = |resp: reqwest::Response| async move {
        assert_eq!(resp.status(), 200);
        let frames = frames(&resp.text().await.unwrap());
        let ends = frames.iter().filter(|f| f.event == "last_chunk").count();
        assert_eq!(ends, 1, "{frames:?}");
        assert_eq!(frames.last().unwrap().event, "last_chunk", "{frames:?}");
        frames.iter().map(|f| f.event.clone()).collect::<Vec<_>>()
    };

    let answered = stream_of(post(conv, json!({"content": "Hi"})).await.unwrap()).await;
    assert!(answered.iter().any(|e| e == "assistant"), "{answered:?}");
    for (body, target, status) in [
        (json!({"content": 5}), conv, 400),
        (json!({"content": "   "}), conv, 400),
        (json!({"content": "x".repeat(41)}), conv, 400),
        (json!({"content": "Hi", "client_message_id": ""}), conv, 400),
        (json!({"content": "Hi"}), theirs, 404),
        (json!({"content": "Hi"}), 999_999_999, 404),
    ] {
        let resp = post(target, body.clone()).await.unwrap();
        assert_eq!(resp.status(), status, "{body}");
        let detail: Value = resp.json().await.unwrap();
        assert!(detail["detail"].is_string(), "{body}: {detail}");
    }
    assert_eq!(
        stream_of(post(conv, json!({"content": "Fail please"})).await.unwrap()).await,
        ["error", "last_chunk"]
    );
    // A hanging answer; a second message meanwhile is refused with 409.
    let hanging = post(conv, json!({"content": "Hang"})).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let busy = post(conv, json!({"content": "Me too"})).await.unwrap();
    assert_eq!(busy.status(), 409);
    assert_eq!(stream_of(hanging).await, ["assistant", "error", "last_chunk"]);
}

//! Faults never lock or lose a conversation. A model that accepts the request and then says
//! nothing more (the OpenAI and Gemini fakes keep the connection open with keep-alive comments,
//! which no byte-level read timeout notices) ends the answer with `error` and `last_chunk` at
//! its configured timeout, what it said is stored marked, and the next message is answered at
//! once. Deleting a conversation mid-answer stops the answer: the upstream request is dropped,
//! the stream ends with `last_chunk`, and nothing is logged as an error.

mod common;

use common::node::{named, run_client, text_of};
use common::sse::{answer_text, frames};
use common::{TestApp, spawn_app_with};
use meai_core::turn::FAILED_MARK;
use meai_core::{ConversationId, MessageKind, Page, UserId};
use meai_testkit::gemini::FakeGemini;
use meai_testkit::openai::{FakeBackend, FakeOpenAi, Reply};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Short answer limits: two seconds to start, one second of silence mid-answer.
const TIMEOUTS: [(&str, &str); 2] = [
    ("MODEL_FIRST_TOKEN_TIMEOUT_SECONDS", "2"),
    ("MODEL_CHUNK_TIMEOUT_SECONDS", "1"),
];

async fn with_openai(fake: &FakeOpenAi, extra: &[(&str, &str)]) -> TestApp {
    let base = fake.base_url();
    let mut vars = vec![
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &base),
    ];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

async fn with_gemini(fake: &FakeGemini, extra: &[(&str, &str)]) -> TestApp {
    let base = fake.base_url();
    let mut vars = vec![
        ("MODEL", "gemini"),
        ("GOOGLE_API_KEY", "g-test"),
        ("GEMINI_BASE_URL", &base),
    ];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

async fn user_with_conversation(app: &TestApp) -> (String, String, UserId, ConversationId) {
    let (user, token) = app.other_user("ada@example.com").await;
    let conv = app.state.conversations.create(user.id, None).await.unwrap();
    let cookie = format!("{}={}", app.state.config.cookie_name, token.expose());
    (cookie, token.expose().to_owned(), user.id, conv.id)
}

async fn stored(app: &TestApp, user: UserId, conv: ConversationId) -> Vec<(MessageKind, String)> {
    let all = app.state.conversations.messages(user, conv, Page::all()).await.unwrap();
    all.into_iter().map(|m| (m.kind, m.content)).collect()
}

/// Queues a model that hangs before its first token, then one that hangs after two chunks,
/// then a normal answer: the three messages of [`hung_models_end_their_turns`].
fn script_hangs(fake: &FakeBackend) {
    let keep_alive = Duration::from_millis(100);
    fake.push(Reply::stall_after(Vec::<String>::new()).with_keep_alives(keep_alive));
    fake.push(Reply::stall_after(["Hal", "f "]).with_keep_alives(keep_alive));
    fake.push(Reply::text("Back again."));
}

/// Three messages, as the frontend sends them, each right after the previous `last_chunk`.
async fn hung_models_end_their_turns(app: &TestApp, fake: &FakeBackend) {
    let (cookie, _, user, conv) = user_with_conversation(app).await;
    let say = |content: &str, nth: u32| {
        vec![
            json!({"emit": "message", "data": {"content": content}}),
            // Far sooner than the minutes a hung model used to hold the conversation.
            json!({"wait": "last_chunk", "count": nth, "timeout_ms": 15000}),
        ]
    };
    let plan: Vec<Value> = [
        vec![
            json!({"connect": {"cookie": cookie}}),
            json!({"wait": "connect"}),
            json!({"emit": "join_conversation", "data": {"conversation_id": conv.0}}),
            json!({"wait": "joined"}),
        ],
        say("Are you there?", 1),
        say("Tell me more", 2),
        say("And now?", 3),
    ]
    .concat();
    let lines = run_client(app, Value::Array(plan)).await;

    let events: Vec<&str> = lines
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .filter(|e| ["assistant", "error", "last_chunk"].contains(e))
        .collect();
    assert_eq!(
        events,
        [
            "error",
            "last_chunk",
            "assistant",
            "assistant",
            "error",
            "last_chunk",
            "assistant",
            "assistant",
            "last_chunk"
        ],
        "{lines:?}"
    );
    for error in named(&lines, "error") {
        let text = error["data"]["error"].as_str().unwrap();
        assert!(!text.contains("still being generated"), "never busy: {text}");
    }
    assert_eq!(text_of(&lines, 1), "Half Back again.");
    assert_eq!(
        stored(app, user, conv).await,
        [
            (MessageKind::Human, "Are you there?".into()),
            (MessageKind::Human, "Tell me more".into()),
            (MessageKind::Ai, format!("Half {FAILED_MARK}")),
            (MessageKind::Human, "And now?".into()),
            (MessageKind::Ai, "Back again.".into()),
        ]
    );
    assert!(
        fake.wait_for_disconnects(2, Duration::from_secs(5)).await,
        "both hung requests were dropped"
    );
    // (Were the first hang retried, the retry would have taken the second script: the events
    // above show it was not.)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_openai_model_ends_the_answer_at_its_timeout_and_frees_the_conversation() {
    let fake = FakeOpenAi::start().await;
    script_hangs(&fake);
    let app = with_openai(&fake, &TIMEOUTS).await;
    hung_models_end_their_turns(&app, &fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_gemini_model_ends_the_answer_at_its_timeout_and_frees_the_conversation() {
    let fake = FakeGemini::start().await;
    script_hangs(&fake);
    let app = with_gemini(&fake, &TIMEOUTS).await;
    hung_models_end_their_turns(&app, &fake).await;
}

/// Every log line at WARN and above, from the whole process (one test per process under
/// nextest; under `cargo test` the first test to ask gets the subscriber).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> Self {
        let logs = Self::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("this test captures the process's logs: run it alone (cargo nextest does)");
        logs
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_conversation_mid_answer_stops_the_answer_without_error_logs() {
    let logs = Logs::capture();
    let fake = FakeOpenAi::start().await;
    let words: Vec<String> = (0..300).map(|i| format!("w{i} ")).collect();
    fake.push(Reply::chunks(words.clone()).with_chunk_delay(Duration::from_millis(30)));
    let app = with_openai(&fake, &[]).await;
    let (_, token, _, conv) = user_with_conversation(&app).await;
    let http = reqwest::Client::new();
    let mut answer = http
        .post(app.url(&format!("/conversations/{}/messages", conv.0)))
        .bearer_auth(&token)
        .json(&json!({"content": "Tell a long story"}))
        .send()
        .await
        .unwrap();
    let mut body = String::new();
    while answer_text(&frames(&body)).len() < 20 {
        body.push_str(&String::from_utf8_lossy(
            &answer.chunk().await.unwrap().expect("more of the answer"),
        ));
    }

    let deleted = http
        .delete(app.url(&format!("/conversations/{}", conv.0)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    while let Some(chunk) = answer.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }

    let frames = frames(&body);
    let last = frames.last().unwrap();
    assert_eq!(
        (last.event.as_str(), &last.data["stopped"]),
        ("last_chunk", &json!(true)),
        "{body}"
    );
    assert_eq!(frames.iter().filter(|f| f.event == "last_chunk").count(), 1);
    assert!(answer_text(&frames).len() < words.concat().len(), "the answer was cut");
    assert!(
        fake.wait_for_disconnects(1, Duration::from_secs(5)).await,
        "the upstream request was cancelled"
    );
    let missing = http
        .get(app.url(&format!("/conversations/{}/messages", conv.0)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404, "the conversation stays deleted");
    // Give a straggling write the time to fail, were there one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logged = logs.text();
    assert!(
        logged.contains("LOCAL MODE"),
        "the capture sees the server's warnings: {logged}"
    );
    assert!(!logged.contains("ERROR"), "{logged}");
    // The stopped answer went nowhere: neither into the deleted conversation nor anywhere else.
    assert!(app.state.store.all_drafts(10).await.unwrap().is_empty());
}

//! The Socket.IO contract end to end: the real npm `socket.io-client` (tests/node/client.mjs)
//! against the server on a random port, answered by the wire-level fake OpenAI/Gemini servers.
//!
//! Needs `npm ci` in tests/node (`cargo xtask test` does it); without `node_modules` every test
//! fails, naming the command.

mod common;

use common::node::{named, node_dir, run_client, text_of};
use common::{TestApp, spawn_app_customized, spawn_app_with};
use meai::adapters::Adapters;
use meai_core::model::ToolSpec;
use meai_core::turn::{BUSY, FAILED_MARK, NO_MODEL, STOPPED_MARK};
use meai_core::{ConnectionStatus, ConversationId, MessageKind, NewConnection, Page, ToolkitSlug, UserId};
use meai_mock::MockToolkits;
use meai_testkit::gemini::FakeGemini;
use meai_testkit::openai::{FakeOpenAi, Reply};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A signed-in user with a conversation: the cookie header and the ids.
async fn user_with_conversation(app: &TestApp, email: &str) -> (String, String, UserId, ConversationId) {
    let (user, token) = app.other_user(email).await;
    let conv = app.state.conversations.create(user.id, None).await.unwrap();
    let cookie = format!("{}={}", app.state.config.cookie_name, token.expose());
    (cookie, token.expose().to_owned(), user.id, conv.id)
}

async fn messages(app: &TestApp, user: UserId, conv: ConversationId) -> Vec<(MessageKind, String)> {
    let all = app.state.conversations.messages(user, conv, Page::all()).await.unwrap();
    all.into_iter().map(|m| (m.kind, m.content)).collect()
}

async fn spawn_with_openai(fake: &FakeOpenAi) -> TestApp {
    spawn_app_with(&[
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &fake.base_url()),
    ])
    .await
}

/// Connect, join, send one message, wait for the end of the answer.
fn one_turn(cookie: &str, transports: &[&str], conv: ConversationId, content: &str) -> Value {
    json!([
        {"connect": {"cookie": cookie, "transports": transports}},
        {"wait": "connect"},
        {"emit": "join_conversation", "data": {"conversation_id": conv.0}},
        {"wait": "joined"},
        {"emit": "message", "data": {"content": content, "conversation_id": conv.0}},
        {"wait": "last_chunk"}
    ])
}

/// Signs in like the frontend does (local mode `GET /auth/google`) and returns the `Cookie`
/// header exactly as set (percent-encoded), the user's id and a new conversation.
async fn browser_session(app: &TestApp) -> (String, UserId, ConversationId) {
    let resp = app.browser().get(app.url("/auth/google")).send().await.unwrap();
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let client = reqwest::Client::new();
    let me: Value = client
        .get(app.url("/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conv: Value = client
        .post(app.url("/conversations/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        cookie,
        UserId(me["user_id"].as_i64().unwrap()),
        ConversationId(conv["conversation_id"].as_i64().unwrap()),
    )
}

async fn full_turn_over(transports: &[&str]) {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(["Hel", "lo", " wor", "ld", "!"]));
    let app = spawn_with_openai(&fake).await;
    let (cookie, user, conv) = browser_session(&app).await;
    let lines = run_client(&app, one_turn(&cookie, transports, conv, "Say hello")).await;

    assert_eq!(named(&lines, "connect")[0]["data"]["transport"], transports[0]);
    assert_eq!(
        named(&lines, "joined")[0]["data"]["message"],
        format!("Joined conversation {}", conv.0)
    );
    let chunks: Vec<&Value> = named(&lines, "assistant").into_iter().map(|l| &l["data"]).collect();
    let contents: Vec<&str> = chunks.iter().map(|d| d["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["Hel", "lo", " wor", "ld", "!"]);
    assert!(chunks.iter().all(|d| d["role"] == "assistant"));
    let seqs: Vec<u64> = chunks.iter().map(|d| d["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let last = named(&lines, "last_chunk");
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["data"]["last_chunk"], true);
    assert!(named(&lines, "error").is_empty());
    assert_eq!(
        messages(&app, user, conv).await[..2],
        [
            (MessageKind::Human, "Say hello".into()),
            (MessageKind::Ai, "Hello world!".into())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_only_with_the_session_cookie_streams_a_full_turn() {
    full_turn_over(&["websocket"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_streams_a_full_turn() {
    full_turn_over(&["polling"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_the_connection_is_refused_on_both_transports() {
    let app = spawn_app_with(&[]).await;
    for transports in [["websocket"], ["polling"]] {
        for cookie in [None, Some("session=forged.token")] {
            let plan = json!([{"connect": {"cookie": cookie, "transports": transports}}, {"wait": "connect_error"}]);
            let lines = run_client(&app, plan).await;
            assert!(named(&lines, "connect").is_empty(), "{lines:?}");
            assert_eq!(
                named(&lines, "connect_error")[0]["data"]["message"],
                "Not authenticated"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_in_the_handshake_auth_is_accepted() {
    let app = spawn_app_with(&[]).await;
    let (_, token, _, conv) = user_with_conversation(&app, "ada@example.com").await;
    let plan = json!([
        {"connect": {"token": token}}, {"wait": "connect"},
        {"emit": "join_conversation", "data": {"conversation_id": conv.0}}, {"wait": "joined"}
    ]);
    run_client(&app, plan).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_conversation_is_refused() {
    let fake = FakeOpenAi::start().await;
    let app = spawn_with_openai(&fake).await;
    let (cookie, ..) = user_with_conversation(&app, "ada@example.com").await;
    let (_, _, bob, bobs) = user_with_conversation(&app, "bob@example.com").await;
    let plan = json!([
        {"connect": {"cookie": cookie}}, {"wait": "connect"},
        {"emit": "join_conversation", "data": {"conversation_id": bobs.0}}, {"wait": "error"},
        {"emit": "message", "data": {"content": "hi", "conversation_id": bobs.0}}, {"wait": "error", "count": 2},
        {"emit": "join_conversation", "data": {"conversation_id": 999999}}, {"wait": "error", "count": 3}
    ]);
    let lines = run_client(&app, plan).await;
    assert!(named(&lines, "joined").is_empty());
    for e in named(&lines, "error") {
        assert_eq!(e["data"]["error"], "Conversation not found");
    }
    assert!(messages(&app, bob, bobs).await.is_empty());
    assert!(fake.chat_requests().is_empty());
}

/// A toolkit platform with Gmail tools, tagged as Composio tags them, standing in for Composio.
fn gmail_toolkit() -> MockToolkits {
    let schema = json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]});
    let mail =
        json!({"type": "object", "properties": {"recipient_email": {"type": "string"}, "body": {"type": "string"}}});
    MockToolkits::new()
        .with_tagged_tool(
            ToolSpec::new("GMAIL_FETCH_EMAILS", "Fetch the user's e-mails", schema),
            &["readOnlyHint", "idempotentHint"],
            |args| {
                Ok(json!(format!(
                    "3 e-mails matching {}",
                    args["query"].as_str().unwrap_or("?")
                )))
            },
        )
        .with_tagged_tool(
            ToolSpec::new("GMAIL_SEND_EMAIL", "Send an e-mail", mail),
            &["important", "openWorldHint", "createHint"],
            |_| Ok(json!({"id": "msg_42", "threadId": "thr_42"})),
        )
}

/// The app on the fake OpenAI with [`gmail_toolkit`] as the toolkit platform.
async fn spawn_with_gmail(fake: &FakeOpenAi) -> (TestApp, MockToolkits) {
    let vars = [
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &*fake.base_url()),
    ];
    let toolkits = gmail_toolkit();
    let app = spawn_app_customized(&vars, |adapters| Adapters {
        toolkits: Some(Arc::new(toolkits.clone())),
        ..adapters
    })
    .await;
    (app, toolkits)
}

/// The user's Gmail, connected and active on both sides (the platform and the store).
async fn connect_gmail(app: &TestApp, toolkits: &MockToolkits, user: UserId) {
    let account = toolkits.connect_active(user, "GMAIL");
    let connection = NewConnection {
        toolkit_slug: ToolkitSlug::parse("GMAIL").unwrap(),
        status: ConnectionStatus::Active,
        auth_config_id: None,
        connection_request_id: None,
        connected_account_id: Some(account),
    };
    app.state.store.put_connection(user, &connection).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_turn_announces_runs_and_feeds_back_the_tool() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::tool_call("GMAIL_FETCH_EMAILS", json!({"query": "invoices"})));
    fake.push(Reply::chunks(["You have ", "3 invoices."]));
    let (app, toolkits) = spawn_with_gmail(&fake).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    connect_gmail(&app, &toolkits, user).await;
    let lines = run_client(&app, one_turn(&cookie, &["websocket"], conv, "Any invoices?")).await;

    let tools: Vec<&Value> = named(&lines, "tool").into_iter().map(|l| &l["data"]).collect();
    assert_eq!(tools.len(), 2, "{lines:?}");
    assert!(tools.iter().all(|d| d["role"] == "tool"));
    assert_eq!(tools[0]["content"], "Using GMAIL_FETCH_EMAILS");
    assert_eq!(tools[1]["content"], "[GMAIL_FETCH_EMAILS] 3 e-mails matching invoices");
    assert_eq!(text_of(&lines, 1), "You have 3 invoices.");
    let stored = messages(&app, user, conv).await;
    assert_eq!(
        stored[1],
        (
            MessageKind::Tool,
            "[GMAIL_FETCH_EMAILS] 3 e-mails matching invoices".into()
        )
    );
    assert_eq!(stored[2], (MessageKind::Ai, "You have 3 invoices.".into()));
    // The result went back to the provider as a tool message answering the call.
    let second = &fake.chat_requests()[1];
    let last = second["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "tool");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_failure_mid_stream_keeps_the_partial_answer_and_ends_the_turn() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::disconnect_after(["Hel", "lo"]));
    let app = spawn_with_openai(&fake).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let lines = run_client(&app, one_turn(&cookie, &["websocket"], conv, "Hi")).await;

    assert_eq!(text_of(&lines, 1), "Hello");
    let order: Vec<&str> = lines
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .filter(|e| ["assistant", "error", "last_chunk"].contains(e))
        .collect();
    assert_eq!(order, ["assistant", "assistant", "error", "last_chunk"]);
    assert_eq!(
        messages(&app, user, conv).await,
        vec![
            (MessageKind::Human, "Hi".into()),
            (MessageKind::Ai, format!("Hello{FAILED_MARK}"))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_question_is_stored_even_when_the_provider_refuses() {
    let fake = FakeOpenAi::start().await;
    fake.push_all((0..10).map(|_| Reply::error(401)));
    let app = spawn_with_openai(&fake).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let lines = run_client(&app, one_turn(&cookie, &["websocket"], conv, "Hi")).await;
    assert_eq!(named(&lines, "error").len(), 1);
    assert_eq!(named(&lines, "last_chunk").len(), 1);
    assert_eq!(
        messages(&app, user, conv).await,
        vec![(MessageKind::Human, "Hi".into())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_answer_rejoins_and_gets_the_rest() {
    let fake = FakeOpenAi::start().await;
    let words: Vec<String> = (0..12).map(|i| format!("w{i} ")).collect();
    fake.push(Reply::chunks(words.clone()).with_chunk_delay(Duration::from_millis(60)));
    let app = spawn_with_openai(&fake).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let plan = json!([
        {"connect": {"cookie": cookie}}, {"wait": "connect"},
        {"emit": "join_conversation", "data": {"conversation_id": conv.0}}, {"wait": "joined"},
        {"emit": "message", "data": {"content": "Count", "conversation_id": conv.0}},
        {"wait": "assistant", "count": 2},
        {"disconnect": true},
        {"sleep": 250},
        {"connect": {"cookie": cookie}}, {"wait": "connect", "count": 2},
        {"emit": "join_conversation", "data": {"conversation_id": conv.0}},
        {"wait": "last_chunk"}
    ]);
    let lines = run_client(&app, plan).await;
    // The second connection got the whole answer: what it missed, then the live rest.
    assert_eq!(text_of(&lines, 2), words.concat());
    let seqs: Vec<u64> = named(&lines, "assistant")
        .iter()
        .filter(|l| l["conn"] == 2)
        .map(|l| l["data"]["seq"].as_u64().unwrap())
        .collect();
    // Seq 1 is the run's `human` event (the question, for the conversation's other tabs).
    assert_eq!(seqs, (2..=13).collect::<Vec<_>>());
    assert!(
        text_of(&lines, 1).len() < words.concat().len(),
        "the first connection left early"
    );
    assert_eq!(messages(&app, user, conv).await[1], (MessageKind::Ai, words.concat()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_sequence_number_sends_only_what_was_missed() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(["a", "b", "c", "d"]).with_chunk_delay(Duration::from_millis(80)));
    let app = spawn_with_openai(&fake).await;
    let (cookie, _, _, conv) = user_with_conversation(&app, "ada@example.com").await;
    let plan = json!([
        {"connect": {"cookie": cookie}}, {"wait": "connect"},
        {"emit": "message", "data": {"content": "go", "conversation_id": conv.0}},
        {"wait": "assistant", "count": 2},
        {"disconnect": true},
        {"connect": {"cookie": cookie}}, {"wait": "connect", "count": 2},
        // 1 is the question (`human`), 2 and 3 the chunks "a" and "b".
        {"emit": "resume", "data": {"conversation_id": conv.0, "after_seq": 3}},
        {"wait": "last_chunk"}
    ]);
    let lines = run_client(&app, plan).await;
    assert_eq!(text_of(&lines, 2), "cd");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_the_answer_and_drops_the_upstream_request() {
    let fake = FakeOpenAi::start().await;
    // A slow, still-streaming upstream: hyper notices a dropped body at its next write (a
    // silent one keeps its socket until it sends; see adapters/llm/tests/chat.rs).
    fake.push(Reply::chunks(vec!["Hel"; 100]).with_chunk_delay(Duration::from_millis(100)));
    let app = spawn_with_openai(&fake).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let plan = json!([
        {"connect": {"cookie": cookie}}, {"wait": "connect"},
        {"emit": "join_conversation", "data": {"conversation_id": conv.0}}, {"wait": "joined"},
        {"emit": "message", "data": {"content": "Hi", "conversation_id": conv.0}},
        {"wait": "assistant"},
        {"emit": "message", "data": {"content": "again", "conversation_id": conv.0}},
        {"wait": "error"}, {"wait": "last_chunk"},
        {"emit": "stop", "data": {"conversation_id": conv.0}},
        {"wait": "last_chunk", "count": 2}
    ]);
    let lines = run_client(&app, plan).await;
    assert_eq!(
        named(&lines, "error")[0]["data"]["error"],
        BUSY,
        "a second message is refused while answering"
    );
    let ends = named(&lines, "last_chunk");
    assert_eq!(ends[0]["data"]["stopped"], false, "the refused message ends too");
    assert!(ends[0]["data"]["seq"].is_null(), "the refusal is no event of the run");
    assert_eq!(ends[1]["data"]["stopped"], true);
    assert!(
        fake.wait_for_disconnects(1, Duration::from_secs(5)).await,
        "the upstream request was dropped"
    );
    assert_eq!(fake.completed_streams(), 0);
    let stored = messages(&app, user, conv).await;
    assert_eq!(stored.len(), 2, "the refused second message was not stored");
    assert_eq!(stored[0], (MessageKind::Human, "Hi".into()));
    let partial = stored[1].1.strip_suffix(STOPPED_MARK).expect("marked as stopped");
    assert!(partial.starts_with("Hel") && partial.len() < 300, "{partial}");
    assert_eq!(partial, text_of(&lines, 1), "what was streamed is what was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tab_in_the_room_sees_the_question_and_the_answer() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(["one ", "two"]).with_first_token_delay(Duration::from_millis(800)));
    let app = spawn_with_openai(&fake).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let watcher = json!([
        {"connect": {"cookie": cookie}}, {"wait": "connect"},
        {"emit": "join_conversation", "data": {"conversation_id": conv.0}}, {"wait": "joined"},
        {"wait": "last_chunk", "timeout_ms": 10000}
    ]);
    let watching = {
        let (base, plan) = (app.base.clone(), watcher.to_string());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("node")
                .arg(node_dir().join("client.mjs"))
                .arg(base)
                .arg(plan)
                .output()
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await; // the watcher has joined
    let sender = run_client(&app, one_turn(&cookie, &["websocket"], conv, "Count")).await;
    let out = watching.await.unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(text_of(&lines, 1), "one two");
    // The watcher sees the question too, before the answer; the sender knows it already.
    let question = &app.state.conversations.messages(user, conv, Page::all()).await.unwrap()[0];
    let human = named(&lines, "human");
    assert_eq!(human.len(), 1, "{lines:?}");
    assert_eq!(
        human[0]["data"],
        json!({"role": "human", "content": "Count", "message_id": question.id.0, "conversation_id": conv.0, "seq": 1})
    );
    let order: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    let at = |e: &str| order.iter().position(|o| *o == e).unwrap();
    assert!(at("human") < at("assistant"), "{order:?}");
    assert!(named(&sender, "human").is_empty(), "{sender:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_streams_a_full_turn() {
    let fake = FakeGemini::start().await;
    fake.push(Reply::chunks(["Bon", "jour"]));
    let app = spawn_app_with(&[
        ("MODEL", "gemini"),
        ("GOOGLE_API_KEY", "g-test"),
        ("GEMINI_BASE_URL", &fake.base_url()),
    ])
    .await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let lines = run_client(&app, one_turn(&cookie, &["websocket"], conv, "Salut")).await;
    assert_eq!(text_of(&lines, 1), "Bonjour");
    assert_eq!(messages(&app, user, conv).await[1], (MessageKind::Ai, "Bonjour".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_language_model_a_message_gets_a_clear_error() {
    let app = spawn_app_with(&[]).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let lines = run_client(&app, one_turn(&cookie, &["websocket"], conv, "Hi")).await;
    assert_eq!(named(&lines, "error")[0]["data"]["error"], NO_MODEL);
    assert_eq!(named(&lines, "last_chunk").len(), 1);
    assert_eq!(
        messages(&app, user, conv).await,
        vec![(MessageKind::Human, "Hi".into())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_the_rate_get_an_error_event_and_are_not_stored() {
    let app = spawn_app_with(&[("MESSAGE_RATE_PER_MINUTE", "1")]).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    let plan = json!([
        {"connect": {"cookie": cookie}}, {"wait": "connect"},
        {"emit": "join_conversation", "data": {"conversation_id": conv.0}}, {"wait": "joined"},
        {"emit": "message", "data": {"content": "Hi", "conversation_id": conv.0}},
        {"wait": "last_chunk"},
        {"emit": "message", "data": {"content": "Hi again", "conversation_id": conv.0}},
        {"wait": "error", "count": 2}, {"wait": "last_chunk", "count": 2}
    ]);
    let lines = run_client(&app, plan).await;
    let errors = named(&lines, "error");
    // The first answer fails for want of a model; the second message is refused by the limit.
    assert_eq!(errors[0]["data"]["error"], NO_MODEL);
    let refused = errors[1]["data"]["error"].as_str().unwrap();
    assert!(refused.contains("Too many messages"), "{refused}");
    assert_eq!(errors[1]["data"]["conversation_id"], conv.0);
    let ends = named(&lines, "last_chunk");
    assert_eq!(ends.len(), 2, "the refused message ends with last_chunk too");
    assert!(ends[1]["data"]["seq"].is_null(), "but no run was started for it");
    assert_eq!(
        messages(&app, user, conv).await,
        vec![(MessageKind::Human, "Hi".into())]
    );
}

/// The app on the fake OpenAI (asked once to send an e-mail to Bob) with the mock Gmail of a
/// user, connected; the session's cookie, the user and a conversation.
async fn asked_to_send(fake: &FakeOpenAi) -> (TestApp, MockToolkits, String, UserId, ConversationId) {
    fake.push(Reply::tool_call(
        "GMAIL_SEND_EMAIL",
        json!({"recipient_email": "bob@example.com", "body": "Lunch on Friday?"}),
    ));
    let (app, toolkits) = spawn_with_gmail(fake).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    connect_gmail(&app, &toolkits, user).await;
    (app, toolkits, cookie, user, conv)
}

fn sends(toolkits: &MockToolkits) -> usize {
    toolkits
        .calls()
        .iter()
        .filter(|(_, tool, _)| tool == "GMAIL_SEND_EMAIL")
        .count()
}

/// As the frontend talks: join, then `message {content}` only, twice (the request, the reply).
fn frontend_pair(cookie: &str, conv: ConversationId, reply: &str) -> Value {
    json!([
        {"connect": {"cookie": cookie}}, {"wait": "connect"},
        {"emit": "join_conversation", "data": {"conversation_id": conv.0}}, {"wait": "joined"},
        {"emit": "message", "data": {"content": "Email Bob about lunch"}}, {"wait": "last_chunk"},
        {"emit": "message", "data": {"content": reply}}, {"wait": "last_chunk", "count": 2}
    ])
}

/// The events between the first `last_chunk` and the second.
fn after_first_answer(lines: &[Value]) -> Vec<&Value> {
    let first = lines.iter().position(|l| l["event"] == "last_chunk").unwrap();
    lines[first + 1..].iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_needs_approval_asks_in_text_and_a_plain_yes_from_the_frontend_runs_it() {
    let fake = FakeOpenAi::start().await;
    let (app, toolkits, cookie, user, conv) = asked_to_send(&fake).await;
    let lines = run_client(&app, frontend_pair(&cookie, conv, "yes")).await;

    let approval = &named(&lines, "tool_approval")[0]["data"];
    assert_eq!(approval["tool"], "GMAIL_SEND_EMAIL");
    assert_eq!(approval["conversation_id"], conv.0);
    assert_eq!(approval["arguments"]["recipient_email"], "bob@example.com");
    assert!(approval["approval_id"].as_i64().is_some());
    // What the frontend shows: the request as the assistant's text, then the end of the turn.
    let first = lines.iter().position(|l| l["event"] == "last_chunk").unwrap();
    let asked: String = lines[..first]
        .iter()
        .filter(|l| l["event"] == "assistant")
        .map(|l| l["data"]["content"].as_str().unwrap())
        .collect();
    assert!(
        asked.contains("bob@example.com") && asked.contains("**yes**"),
        "{asked}"
    );

    let then = after_first_answer(&lines);
    let tools: Vec<&str> = then
        .iter()
        .filter(|l| l["event"] == "tool")
        .map(|l| l["data"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(tools[0], "Using GMAIL_SEND_EMAIL");
    assert!(tools[1].contains("msg_42"), "{tools:?}");
    assert!(
        then.iter().any(|l| l["event"] == "assistant"),
        "the answer streams: {then:?}"
    );
    assert!(named(&lines, "error").is_empty(), "{lines:?}");
    assert_eq!(sends(&toolkits), 1);
    let stored = messages(&app, user, conv).await;
    assert_eq!(stored[2], (MessageKind::Human, "yes".into()));
    assert_eq!(stored[3].0, MessageKind::Tool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_other_message_from_the_frontend_declines_the_call_and_is_answered() {
    let fake = FakeOpenAi::start().await;
    let (app, toolkits, cookie, user, conv) = asked_to_send(&fake).await;
    let lines = run_client(&app, frontend_pair(&cookie, conv, "No, what's on my calendar?")).await;
    let then = after_first_answer(&lines);
    let reply: String = then
        .iter()
        .filter(|l| l["event"] == "assistant")
        .map(|l| l["data"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        reply, "Echo: No, what's on my calendar?",
        "answered as a normal message"
    );
    assert_eq!(sends(&toolkits), 0);
    let stored = messages(&app, user, conv).await;
    assert_eq!(
        stored[2],
        (
            MessageKind::Tool,
            "[GMAIL_SEND_EMAIL] not run: the user declined it".into()
        )
    );
    let actions = app
        .state
        .consent
        .actions(user, &Default::default(), Page::all())
        .await
        .unwrap();
    assert_eq!(actions[0].decision, meai_core::consent::ActionDecision::Denied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_decision_approves_once_and_a_second_decision_gets_an_error() {
    let fake = FakeOpenAi::start().await;
    let (app, toolkits, cookie, _, conv) = asked_to_send(&fake).await;
    let lines = run_client(&app, one_turn(&cookie, &["websocket"], conv, "Email Bob about lunch")).await;
    let id = named(&lines, "tool_approval")[0]["data"]["approval_id"].clone();

    // Two tabs answer the same request: the first decision runs it, the second is refused.
    let decide = json!({"approval_id": id, "decision": "approve", "conversation_id": conv.0});
    let plan = json!([
        {"connect": {"cookie": cookie}}, {"wait": "connect"},
        {"emit": "tool_decision", "data": decide}, {"wait": "last_chunk"},
        {"emit": "tool_decision", "data": decide}, {"wait": "last_chunk", "count": 2},
        {"emit": "tool_decision", "data": {"decision": "approve", "conversation_id": conv.0}},
        {"wait": "last_chunk", "count": 3}
    ]);
    let lines = run_client(&app, plan).await;
    assert_eq!(sends(&toolkits), 1);
    let tools: Vec<&str> = named(&lines, "tool")
        .iter()
        .map(|l| l["data"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(tools[0], "Using GMAIL_SEND_EMAIL");
    let errors: Vec<&str> = named(&lines, "error")
        .iter()
        .map(|l| l["data"]["error"].as_str().unwrap())
        .collect();
    assert_eq!(
        errors,
        ["This approval was already approved", "approval_id is required"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_and_regenerate_stream_like_a_message() {
    let fake = FakeOpenAi::start().await;
    fake.push_when("colour", Reply::text("Red."));
    fake.push_when("colour", Reply::text("Blue."));
    fake.push_when("fruit", Reply::text("Apple."));
    let app = spawn_with_openai(&fake).await;
    let (cookie, _, user, conv) = user_with_conversation(&app, "ada@example.com").await;
    app.state
        .conversations
        .rename(user, conv, meai_core::Title::parse("Branches").unwrap())
        .await
        .unwrap();
    run_client(&app, one_turn(&cookie, &["websocket"], conv, "Name a colour")).await;
    let first = app.state.conversations.messages(user, conv, Page::all()).await.unwrap();
    let (question, red) = (first[0].id.0, first[1].id.0);
    let plan = json!([
        {"connect": {"cookie": cookie, "transports": ["websocket"]}},
        {"wait": "connect"},
        {"emit": "join_conversation", "data": {"conversation_id": conv.0}},
        {"wait": "joined"},
        {"emit": "regenerate", "data": {"message_id": red}},
        {"wait": "last_chunk"},
        {"emit": "edit", "data": {"message_id": question, "content": "Name a fruit", "conversation_id": conv.0}},
        {"wait": "last_chunk", "count": 2},
        {"emit": "edit", "data": {"message_id": red, "content": "No"}},
        {"wait": "last_chunk", "count": 3}
    ]);
    let lines = run_client(&app, plan).await;
    assert_eq!(text_of(&lines, 1), "Blue.Apple.");
    let errors = named(&lines, "error");
    assert_eq!(errors.len(), 1, "{lines:?}");
    assert_eq!(errors[0]["data"]["error"], "Only a human message can be edited");
    assert_eq!(
        messages(&app, user, conv).await,
        [
            (MessageKind::Human, "Name a fruit".into()),
            (MessageKind::Ai, "Apple.".into())
        ]
    );
    let tree = app.state.conversations.tree(user, conv).await.unwrap();
    assert_eq!(tree.nodes.len(), 5);
    assert_eq!(tree.siblings(meai_core::MessageId(red)).len(), 2);
}

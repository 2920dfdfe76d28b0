//! A full tool-using turn: the model (OpenAI and Gemini fakes) calls a Gmail tool, the tool
//! runs at the fake Composio for the user, its result goes back to the model, and the answer
//! streams over SSE (`POST /conversations/{id}/messages`).

mod common;

use common::{TestApp, json, spawn_app_with, sse_frames as frames};
use meai_core::{ConversationId, MessageKind, Page, UserId};
use meai_testkit::composio::{API_KEY, FakeComposio};
use meai_testkit::openai::{FakeBackend, Reply};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    token: String,
    user: UserId,
    conversation: ConversationId,
}

/// The app on `llm` and the fake Composio, with a user whose Gmail is connected and active.
async fn setup(composio: &FakeComposio, llm: &[(&str, &str)]) -> Setup {
    composio.auth_config("ac_gmail", "gmail");
    composio.auth_config("ac_notion", "notion");
    let base = composio.base_url();
    let mut vars = vec![
        ("COMPOSIO_API_KEY", API_KEY),
        ("COMPOSIO_BASE_URL", base.as_str()),
        ("GMAIL_AUTH_CONFIG_ID", "ac_gmail"),
        ("NOTION_AUTH_CONFIG_ID", "ac_notion"),
    ];
    vars.extend_from_slice(llm);
    let app = spawn_app_with(&vars).await;
    let (user, token) = app.other_user("ada@example.com").await;
    let token = token.expose().to_owned();
    let http = reqwest::Client::new();
    // Gmail connected and authorized; Notion connected but never authorized (pending).
    let mut request_ids = Vec::new();
    for slug in ["gmail", "notion"] {
        let resp = http
            .post(app.url(&format!("/toolkits/connect/{slug}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        request_ids.push(json(resp).await["connection_request_id"].as_str().unwrap().to_owned());
    }
    composio.set_status(&request_ids[0], "ACTIVE", None);
    let synced = http
        .post(app.url(&format!("/toolkits/connections/sync/{}", request_ids[0])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(json(synced).await["connection_status"], "active");
    let conversation = app.state.conversations.create(user.id, None).await.unwrap().id;
    Setup {
        app,
        token,
        user: user.id,
        conversation,
    }
}

async fn ask(s: &Setup, content: &str) -> Vec<(String, Value)> {
    let resp = reqwest::Client::new()
        .post(s.app.url(&format!("/conversations/{}/messages", s.conversation.0)))
        .bearer_auth(&s.token)
        .json(&json!({"content": content}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    frames(&resp.text().await.unwrap())
}

/// Drives the Gmail turn on whichever fake `llm` is; checks everything on the way.
async fn gmail_turn(composio: &FakeComposio, llm: &FakeBackend, s: &Setup) {
    composio.set_tool_result(
        "GMAIL_FETCH_EMAILS",
        json!({"messages": [{"from": "bob@example.com", "subject": "Lunch on Friday"}]}),
    );
    llm.push(Reply::tool_call("GMAIL_FETCH_EMAILS", json!({"query": "from:bob"})));
    llm.push(Reply::text("Bob wrote about lunch on Friday."));

    let frames = ask(s, "Did Bob send me any emails?").await;
    let names: Vec<&str> = frames.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names.first(), Some(&"tool"), "{frames:?}");
    assert_eq!(names.last(), Some(&"last_chunk"), "{frames:?}");
    assert_eq!(frames[0].1["content"], "Using GMAIL_FETCH_EMAILS");
    let result = frames[1].1["content"].as_str().unwrap();
    assert!(
        result.starts_with("[GMAIL_FETCH_EMAILS] ") && result.contains("Lunch on Friday"),
        "{result}"
    );
    let answer: String = frames
        .iter()
        .filter(|(e, _)| e == "assistant")
        .map(|(_, d)| d["content"].as_str().unwrap())
        .collect();
    assert_eq!(answer, "Bob wrote about lunch on Friday.");

    // Offered: only tools of the active toolkit (Notion is pending), the relevant one among them.
    // (A third request may follow: the background title of the conversation.)
    let requests = llm.chat_requests();
    assert!(requests.len() >= 2);
    let offered = requests[0].to_string();
    assert!(offered.contains("GMAIL_FETCH_EMAILS"), "{offered}");
    assert!(
        !offered.contains("NOTION_CREATE_PAGE") && !offered.contains("GOOGLECALENDAR_"),
        "{offered}"
    );
    // The tool's result went back to the model.
    assert!(requests[1].to_string().contains("Lunch on Friday"));

    // Composio ran it for this user, with the model's arguments.
    let executed = composio
        .requests()
        .into_iter()
        .find(|r| r.path == "/tools/execute/GMAIL_FETCH_EMAILS")
        .unwrap();
    assert_eq!(executed.body["user_id"], s.user.0.to_string());
    assert_eq!(executed.body["arguments"], json!({"query": "from:bob"}));
    assert_eq!(executed.body["version"], "latest");

    let stored = s
        .app
        .state
        .conversations
        .messages(s.user, s.conversation, Page::all())
        .await
        .unwrap();
    let kinds: Vec<MessageKind> = stored.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [MessageKind::Human, MessageKind::Tool, MessageKind::Ai]);
    assert!(stored[1].content.starts_with("[GMAIL_FETCH_EMAILS] "));
    assert_eq!(stored[2].content, "Bob wrote about lunch on Friday.");
}

#[tokio::test]
async fn a_gmail_tool_turn_on_openai() {
    let composio = FakeComposio::start().await;
    let llm = meai_testkit::openai::FakeOpenAi::start().await;
    let base = llm.base_url();
    let s = setup(
        &composio,
        &[
            ("MODEL", "openai"),
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &base),
        ],
    )
    .await;
    gmail_turn(&composio, &llm, &s).await;
}

#[tokio::test]
async fn a_gmail_tool_turn_on_gemini() {
    let composio = FakeComposio::start().await;
    let llm = meai_testkit::gemini::FakeGemini::start().await;
    let base = llm.base_url();
    let s = setup(
        &composio,
        &[
            ("MODEL", "gemini"),
            ("GOOGLE_API_KEY", "g-test"),
            ("GEMINI_BASE_URL", &base),
        ],
    )
    .await;
    gmail_turn(&composio, &llm, &s).await;
}

#[tokio::test]
async fn a_failing_tool_goes_back_to_the_model_and_the_turn_still_answers() {
    let composio = FakeComposio::start().await;
    let llm = meai_testkit::openai::FakeOpenAi::start().await;
    let base = llm.base_url();
    // Sending runs at once here: this is about failures, not consent (see approvals.rs).
    let s = setup(
        &composio,
        &[
            ("MODEL", "openai"),
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &base),
            ("TOOL_APPROVAL", "auto"),
        ],
    )
    .await;
    composio.fail_tool("GMAIL_SEND_EMAIL", "Recipient address rejected");
    llm.push(Reply::tool_call(
        "GMAIL_SEND_EMAIL",
        json!({"recipient_email": "x@y", "body": "hi"}),
    ));
    // A tool the user has no active toolkit for is refused without reaching Composio.
    llm.push(Reply::tool_call("NOTION_CREATE_PAGE", json!({"title": "t"})));
    llm.push(Reply::text("I could not send it."));

    let frames = ask(&s, "Send an email to x@y saying hi").await;
    let tools: Vec<&str> = frames
        .iter()
        .filter(|(e, _)| e == "tool")
        .map(|(_, d)| d["content"].as_str().unwrap())
        .collect();
    assert!(
        tools.iter().any(|t| t.contains("Recipient address rejected")),
        "{tools:?}"
    );
    assert!(
        tools
            .iter()
            .any(|t| t.starts_with("[NOTION_CREATE_PAGE] error: unknown tool")),
        "{tools:?}"
    );
    assert_eq!(frames.last().unwrap().0, "last_chunk");
    assert!(
        frames
            .iter()
            .any(|(e, d)| e == "assistant" && d["content"].as_str().unwrap().contains("could"))
    );
    assert!(
        llm.chat_requests()[1]
            .to_string()
            .contains("Recipient address rejected")
    );
    assert_eq!(composio.count("POST", "/tools/execute/NOTION"), 0);
}

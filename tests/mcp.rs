//! MCP servers in the turn, against a REAL MCP server (the official TypeScript SDK from npm,
//! adapters/mcp/tests/server) and the fake OpenAI: the operator's servers (`MCP_SERVERS`) and a
//! person's own (`/mcp/servers`), under the same approval policy and action log as Composio.

#![cfg(feature = "mcp")]

mod common;
#[path = "../adapters/mcp/tests/common/mod.rs"]
mod mcp_node;

use common::{TestApp, json, spawn_app_with, sse_frames};
use mcp_node::NodeServer;
use meai_core::{ConversationId, Title, UserId};
use meai_testkit::openai::{FakeOpenAi, Reply};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

struct Person {
    token: String,
    user: UserId,
    conversation: ConversationId,
}

async fn person(app: &TestApp, email: &str) -> Person {
    let (user, token) = app.other_user(email).await;
    // Titled: no background title request takes a scripted answer.
    let title = Title::parse("Notes").unwrap();
    let conversation = app.state.conversations.create(user.id, Some(title)).await.unwrap().id;
    Person {
        token: token.expose().to_owned(),
        user: user.id,
        conversation,
    }
}

async fn app_with(llm: &FakeOpenAi, vars: &[(&str, &str)]) -> TestApp {
    let base = llm.base_url();
    let mut all = vec![
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", base.as_str()),
    ];
    all.extend_from_slice(vars);
    spawn_app_with(&all).await
}

fn operator(servers: &[(&str, &str)]) -> String {
    let list: Vec<Value> = servers.iter().map(|(n, u)| json!({"name": n, "url": u})).collect();
    Value::from(list).to_string()
}

async fn post_sse(app: &TestApp, p: &Person, path: &str, body: Value) -> Vec<(String, Value)> {
    let path = path.replace("{c}", &p.conversation.0.to_string());
    let resp = reqwest::Client::new()
        .post(app.url(&path))
        .bearer_auth(&p.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "POST {path}");
    sse_frames(&resp.text().await.unwrap())
}

async fn say(app: &TestApp, p: &Person, content: &str) -> Vec<(String, Value)> {
    post_sse(app, p, "/conversations/{c}/messages", json!({"content": content})).await
}

async fn call(
    app: &TestApp,
    p: &Person,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(&p.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status();
    (status, json(resp).await)
}

fn answer(frames: &[(String, Value)]) -> String {
    frames
        .iter()
        .filter(|(e, _)| e == "assistant")
        .map(|(_, d)| d["content"].as_str().unwrap())
        .collect()
}

fn events<'a>(frames: &'a [(String, Value)], name: &str) -> Vec<&'a Value> {
    frames.iter().filter(|(e, _)| e == name).map(|(_, d)| d).collect()
}

#[tokio::test]
async fn a_turn_calls_a_read_only_tool_of_the_operators_server_and_streams_the_answer() {
    let server = NodeServer::start();
    let llm = FakeOpenAi::start().await;
    let servers = operator(&[("notes", &server.url)]);
    // The operator's server is on loopback: allowed for the operator.
    let app = app_with(&llm, &[("MCP_SERVERS", &servers)]).await;
    let p = person(&app, "ada@example.com").await;
    llm.push(Reply::tool_call("mcp_notes__notes_search", json!({"query": "coffee"})));
    llm.push(Reply::text("You noted coffee twice."));

    let frames = say(&app, &p, "What did I note about coffee?").await;
    assert_eq!(frames.last().unwrap().0, "last_chunk", "{frames:?}");
    assert!(
        events(&frames, "tool_approval").is_empty(),
        "read-only runs at once: {frames:?}"
    );
    let tools: Vec<&str> = events(&frames, "tool")
        .iter()
        .map(|d| d["content"].as_str().unwrap())
        .collect();
    assert_eq!(tools[0], "Using mcp_notes__notes_search");
    assert!(
        tools[1].starts_with("[MCP_NOTES__NOTES_SEARCH] 2 note(s) match 'coffee'"),
        "{tools:?}"
    );
    assert_eq!(answer(&frames), "You noted coffee twice.");

    // Offered with its schema beside nothing else; its result went back to the model.
    let requests = llm.chat_requests();
    let offered = requests[0].to_string();
    assert!(
        offered.contains("mcp_notes__notes_search") && offered.contains("mcp_notes__notes_write"),
        "{offered}"
    );
    assert!(requests[1].to_string().contains("coffee beans"));
    assert_eq!(server.method_count("tools/call").await, 1);

    // The action log has it, as its toolkit (the server) and decided by the policy.
    let (status, actions) = call(&app, &p, reqwest::Method::GET, "/actions", None).await;
    assert_eq!(status, StatusCode::OK);
    let action = &actions["actions"][0];
    assert_eq!(
        (
            action["toolkit"].as_str(),
            action["tool"].as_str(),
            action["decision"].as_str()
        ),
        (Some("MCP_NOTES"), Some("mcp_notes__notes_search"), Some("auto"))
    );
    assert_eq!(action["outcome"], "succeeded");
    assert_eq!(action["arguments"], json!({"query": "coffee"}));
    assert_eq!(action["user_id"], p.user.0);
}

#[tokio::test]
async fn the_writing_tool_asks_first_and_runs_once_approved() {
    let server = NodeServer::start();
    let llm = FakeOpenAi::start().await;
    let servers = operator(&[("notes", &server.url)]);
    let app = app_with(&llm, &[("MCP_SERVERS", &servers)]).await;
    let p = person(&app, "ada@example.com").await;
    let note = json!({"title": "call mum", "body": "on Sunday"});
    llm.push(Reply::tool_call("mcp_notes__notes_write", note.clone()));

    let frames = say(&app, &p, "Write a note: call mum on Sunday").await;
    let asked = events(&frames, "tool_approval");
    assert_eq!(asked.len(), 1, "{frames:?}");
    assert_eq!(
        (asked[0]["toolkit"].as_str(), asked[0]["tool"].as_str()),
        (Some("MCP_NOTES"), Some("mcp_notes__notes_write"))
    );
    assert_eq!(asked[0]["arguments"], note);
    assert_eq!(frames.last().unwrap().0, "last_chunk");
    assert_eq!(
        server.stats().await["writes"],
        json!([]),
        "nothing written before the decision"
    );

    let id = asked[0]["approval_id"].as_i64().unwrap();
    llm.push(Reply::text("Saved."));
    let frames = post_sse(
        &app,
        &p,
        &format!("/conversations/{{c}}/approvals/{id}"),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(answer(&frames), "Saved.");
    assert_eq!(server.stats().await["writes"], json!([note]), "written exactly once");
    let (_, actions) = call(&app, &p, reqwest::Method::GET, "/actions", None).await;
    let action = &actions["actions"][0];
    assert_eq!(
        (
            action["tool"].as_str(),
            action["decision"].as_str(),
            action["outcome"].as_str()
        ),
        (Some("mcp_notes__notes_write"), Some("approved"), Some("succeeded"))
    );
    assert_eq!(action["approval_id"], id);
}

#[tokio::test]
async fn a_persons_server_serves_them_alone_with_their_token_never_shown() {
    const TOKEN: &str = "tok_personal_notes_secret";
    let server = NodeServer::start_with(&["--token", TOKEN]);
    let llm = FakeOpenAi::start().await;
    // A single-person install reaching a local server.
    let app = app_with(&llm, &[("MCP_ALLOW_PRIVATE_URLS", "true")]).await;
    let (ada, bob) = (
        person(&app, "ada@example.com").await,
        person(&app, "bob@example.com").await,
    );

    let body = json!({"name": "mine", "url": server.url, "token": TOKEN});
    let (status, added) = call(&app, &ada, reqwest::Method::POST, "/mcp/servers", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(
        (added["name"].as_str(), added["has_token"].as_bool()),
        (Some("mine"), Some(true))
    );
    assert_eq!(added["toolkit"], "MCP_MINE");
    let (status, listed) = call(&app, &ada, reqwest::Method::GET, "/mcp/servers", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        !format!("{added}{listed}").contains(TOKEN),
        "the token is never returned"
    );
    // Stored sealed, not as typed.
    let stored = app.state.store.list_mcp_servers(ada.user).await.unwrap();
    assert!(!stored[0].sealed_token.as_deref().unwrap().contains(TOKEN));

    // Ada's turn uses it, with her token (the server refuses requests without it).
    llm.push(Reply::tool_call("mcp_mine__notes_search", json!({"query": "dentist"})));
    llm.push(Reply::text("Tuesday."));
    let frames = say(&app, &ada, "When is the dentist?").await;
    assert_eq!(answer(&frames), "Tuesday.");
    assert!(llm.chat_requests()[1].to_string().contains("1 note(s) match 'dentist'"));

    // Bob sees none of it: not listed, not offered, not removable, not callable.
    let (_, theirs) = call(&app, &bob, reqwest::Method::GET, "/mcp/servers", None).await;
    assert_eq!(theirs, json!([]));
    let id = added["id"].as_i64().unwrap();
    let (status, _) = call(&app, &bob, reqwest::Method::DELETE, &format!("/mcp/servers/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let calls_before = server.method_count("tools/call").await;
    llm.push(Reply::tool_call("mcp_mine__notes_search", json!({"query": "dentist"})));
    llm.push(Reply::text("I cannot."));
    let frames = say(&app, &bob, "When is Ada's dentist?").await;
    assert_eq!(answer(&frames), "I cannot.");
    let offered = llm.chat_requests().iter().rev().nth(1).unwrap().to_string();
    assert!(!offered.contains("mcp_mine__"), "{offered}");
    assert_eq!(
        server.method_count("tools/call").await,
        calls_before,
        "never ran for Bob"
    );

    // Removed, it is gone from Ada's turns too.
    let (status, _) = call(&app, &ada, reqwest::Method::DELETE, &format!("/mcp/servers/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = call(&app, &ada, reqwest::Method::GET, "/mcp/servers", None).await;
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn a_loopback_url_is_refused_for_a_person_and_bounded_input_too() {
    let server = NodeServer::start();
    let llm = FakeOpenAi::start().await;
    let servers = operator(&[("ops", &server.url)]);
    let app = app_with(&llm, &[("MCP_SERVERS", &servers)]).await;
    let p = person(&app, "ada@example.com").await;
    let refused = [
        server.url.clone(),
        "http://localhost:8080/mcp".into(),
        "http://10.0.0.7/mcp".into(),
        "http://169.254.169.254/latest/meta-data".into(),
        "http://[::1]/mcp".into(),
        "file:///etc/passwd".into(),
    ];
    for url in refused {
        let body = json!({"name": "sneaky", "url": url});
        let (status, detail) = call(&app, &p, reqwest::Method::POST, "/mcp/servers", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {detail}");
        assert!(detail["detail"].as_str().unwrap().contains("refused"), "{detail}");
    }
    let too_long = json!({"name": "x".repeat(65), "url": "https://example.com/mcp"});
    let (status, _) = call(&app, &p, reqwest::Method::POST, "/mcp/servers", Some(too_long)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, listed) = call(&app, &p, reqwest::Method::GET, "/mcp/servers", None).await;
    assert_eq!(listed, json!([]), "nothing was stored");

    // The operator's loopback server is offered all the same.
    llm.push(Reply::text("Hello."));
    say(&app, &p, "hi").await;
    assert!(llm.chat_requests()[0].to_string().contains("mcp_ops__notes_search"));
}

/// Accepts connections and never answers: a server that hangs.
async fn hanging_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

#[tokio::test]
async fn a_down_or_slow_server_costs_the_turn_only_its_timeout() {
    let server = NodeServer::start();
    let (hanging, _task) = hanging_server().await;
    // A port nothing listens on.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/mcp", l.local_addr().unwrap())
    };
    let llm = FakeOpenAi::start().await;
    let servers = operator(&[("notes", &server.url), ("down", &down), ("hangs", &hanging)]);
    let app = app_with(
        &llm,
        &[
            ("MCP_SERVERS", &servers),
            ("MCP_LIST_TIMEOUT_SECONDS", "1"),
            ("MCP_CALL_TIMEOUT_SECONDS", "1"),
        ],
    )
    .await;
    let p = person(&app, "ada@example.com").await;

    // The slow tool is cut at the call timeout; the model hears why and the turn answers.
    llm.push(Reply::tool_call("mcp_notes__slow", json!({"ms": 10_000})));
    llm.push(Reply::text("It took too long."));
    let started = Instant::now();
    let frames = say(&app, &p, "Run the slow thing").await;
    let took = started.elapsed();
    assert_eq!(answer(&frames), "It took too long.", "{frames:?}");
    assert!(events(&frames, "error").is_empty(), "{frames:?}");
    // Listing waits at most 1 s per step (offer, then execution), the call 1 s: far below 10 s.
    assert!(took < Duration::from_secs(6), "the turn took {took:?}");
    let tools: Vec<&str> = events(&frames, "tool")
        .iter()
        .map(|d| d["content"].as_str().unwrap())
        .collect();
    assert!(tools[1].contains("did not answer within 1s"), "{tools:?}");
    let offered = llm.chat_requests()[0].to_string();
    assert!(
        offered.contains("mcp_notes__notes_search"),
        "the healthy server is offered"
    );
    assert!(
        !offered.contains("mcp_down__") && !offered.contains("mcp_hangs__"),
        "{offered}"
    );
    let (_, actions) = call(&app, &p, reqwest::Method::GET, "/actions", None).await;
    assert_eq!(actions["actions"][0]["outcome"], "failed");
    // The server was told to stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.stats().await["cancelled"], 1);
}

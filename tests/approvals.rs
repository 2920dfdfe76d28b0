//! Acting only with consent, end to end over REST and SSE: the fake Composio (its tools tagged as
//! Composio tags them) and the fake models (OpenAI and Gemini). A read-only tool runs at once; a
//! send waits for the person's decision, stored as an approval, and the run ends; the decision
//! (`POST /conversations/{id}/approvals/{approval_id}`) runs it once, or not, tells the model and
//! streams the answer; every action lands in `GET /actions`.

mod common;

use common::{TestApp, json, spawn_app_with, sse_frames};
use meai_core::{ConnectionStatus, ConversationId, NewConnection, Title, ToolkitSlug, UserId};
use meai_testkit::composio::{API_KEY, FakeComposio};
use meai_testkit::openai::{FakeBackend, FakeOpenAi, Reply};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const SENT: &str = "18c2a4f0e1";

struct Setup {
    app: TestApp,
    token: String,
    user: UserId,
    conversation: ConversationId,
}

fn openai_vars(llm: &FakeOpenAi) -> Vec<(&'static str, String)> {
    vec![
        ("MODEL", "openai".into()),
        ("OPENAI_API_KEY", "sk-test".into()),
        ("OPENAI_BASE_URL", llm.base_url()),
    ]
}

/// The app on the fakes (plus `extra` settings), and a user whose Gmail is connected and active
/// at Composio, with a titled conversation (`conversation`: an existing one, after a restart).
async fn setup(composio: &FakeComposio, extra: &[(&'static str, String)], conversation: Option<i64>) -> Setup {
    composio.auth_config("ac_gmail", "gmail");
    composio.set_tool_result(
        "GMAIL_SEND_EMAIL",
        json!({"id": SENT, "threadId": "18c2a4e9aa", "labelIds": ["SENT"]}),
    );
    let mut vars: Vec<(&str, String)> = vec![
        ("COMPOSIO_API_KEY", API_KEY.into()),
        ("COMPOSIO_BASE_URL", composio.base_url()),
        ("GMAIL_AUTH_CONFIG_ID", "ac_gmail".into()),
    ];
    vars.extend(extra.iter().cloned());
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&vars).await;
    let (user, token) = app.other_user("ada@example.com").await;
    if !composio.accounts().iter().any(|a| a.user_id == user.id.0.to_string()) {
        composio.add_account(&user.id.0.to_string(), "gmail", "ACTIVE");
    }
    let connection = NewConnection {
        toolkit_slug: ToolkitSlug::parse("GMAIL").unwrap(),
        status: ConnectionStatus::Active,
        auth_config_id: Some("ac_gmail".into()),
        connection_request_id: None,
        connected_account_id: None,
    };
    app.state.store.put_connection(user.id, &connection).await.unwrap();
    let conversation = match conversation {
        Some(id) => ConversationId(id),
        // Titled: no background title request takes a scripted answer.
        None => {
            let title = Title::parse("Mail").unwrap();
            app.state.conversations.create(user.id, Some(title)).await.unwrap().id
        }
    };
    Setup {
        app,
        token: token.expose().to_owned(),
        user: user.id,
        conversation,
    }
}

impl Setup {
    fn url(&self, path: &str) -> String {
        self.app.url(&path.replace("{c}", &self.conversation.0.to_string()))
    }

    async fn post_sse(&self, path: &str, body: Value) -> (StatusCode, Vec<(String, Value)>, Value) {
        let resp = reqwest::Client::new()
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let detail = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, sse_frames(&text), detail)
    }

    async fn say(&self, content: &str) -> Vec<(String, Value)> {
        let (status, frames, _) = self
            .post_sse("/conversations/{c}/messages", json!({"content": content}))
            .await;
        assert_eq!(status, StatusCode::OK);
        frames
    }

    async fn decide(&self, approval: i64, body: Value) -> (StatusCode, Vec<(String, Value)>, Value) {
        self.post_sse(&format!("/conversations/{{c}}/approvals/{approval}"), body)
            .await
    }

    async fn get(&self, path: &str) -> Value {
        let resp = reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        json(resp).await
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let resp = request.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Asks for the send and returns the `tool_approval` event's data (checking the run asked).
    async fn ask_to_send(&self, llm: &FakeBackend) -> Value {
        llm.push(Reply::tool_call(
            "GMAIL_SEND_EMAIL",
            json!({"recipient_email": "bob@example.com", "subject": "Lunch", "body": "Friday at noon?"}),
        ));
        let frames = self.say("Email Bob about lunch on Friday").await;
        let names: Vec<&str> = frames.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(names.last(), Some(&"last_chunk"), "{frames:?}");
        let approvals: Vec<&Value> = frames
            .iter()
            .filter(|(e, _)| e == "tool_approval")
            .map(|(_, d)| d)
            .collect();
        assert_eq!(approvals.len(), 1, "{frames:?}");
        let text: String = frames
            .iter()
            .filter(|(e, _)| e == "assistant")
            .map(|(_, d)| d["content"].as_str().unwrap())
            .collect();
        for part in ["send email", "bob@example.com", "Friday at noon?", "**yes**"] {
            assert!(text.contains(part), "{part} in {text}");
        }
        approvals[0].clone()
    }
}

fn sends(composio: &FakeComposio) -> Vec<Value> {
    composio
        .requests()
        .into_iter()
        .filter(|r| r.path == "/tools/execute/GMAIL_SEND_EMAIL")
        .map(|r| r.body["arguments"].clone())
        .collect()
}

/// `meai_tool_approvals_total{toolkit="GMAIL", event}` as `/metrics` reports it.
async fn approvals_counted(s: &Setup, event: &str) -> u64 {
    let text = reqwest::get(s.app.url("/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("meai_tool_approvals_total{"))
        .filter(|l| l.contains(&format!("event=\"{event}\"")) && l.contains("toolkit=\"GMAIL\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn answer(frames: &[(String, Value)]) -> String {
    frames
        .iter()
        .filter(|(e, _)| e == "assistant")
        .map(|(_, d)| d["content"].as_str().unwrap())
        .collect()
}

/// The whole approve path on whichever fake model `llm` is.
async fn approve_then_answer(composio: &FakeComposio, llm: &FakeBackend, s: &Setup) {
    let asked = s.ask_to_send(llm).await;
    assert_eq!(asked["conversation_id"], s.conversation.0);
    assert_eq!(
        (asked["toolkit"].as_str(), asked["tool"].as_str()),
        (Some("GMAIL"), Some("GMAIL_SEND_EMAIL"))
    );
    assert_eq!(asked["arguments"]["recipient_email"], "bob@example.com");
    assert!(asked["summary"].as_str().unwrap().contains("bob@example.com"));
    assert!(sends(composio).is_empty(), "nothing is sent before the decision");
    let id = asked["approval_id"].as_i64().unwrap();
    let pending = s.get("/conversations/{c}/approvals").await;
    assert_eq!(pending["approvals"][0]["approval_id"], id);
    assert_eq!(pending["approvals"][0]["arguments"], asked["arguments"]);

    llm.push(Reply::text("Sent it to Bob."));
    let (status, frames, _) = s.decide(id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer(&frames), "Sent it to Bob.");
    assert_eq!(frames[0], ("tool".into(), frames[0].1.clone()));
    assert_eq!(frames[0].1["content"], "Using GMAIL_SEND_EMAIL");
    assert_eq!(frames.last().unwrap().0, "last_chunk");
    assert_eq!(
        sends(composio),
        vec![asked["arguments"].clone()],
        "executed exactly once"
    );
    // The model heard the result (the provider's message id) for its call.
    let last = llm.chat_requests().pop().unwrap().to_string();
    assert!(last.contains(SENT), "{last}");

    let actions = s.get("/actions").await;
    let action = &actions["actions"][0];
    assert_eq!(
        (action["decision"].as_str(), action["outcome"].as_str()),
        (Some("approved"), Some("succeeded"))
    );
    assert_eq!(action["provider_ids"], json!({"id": SENT, "threadId": "18c2a4e9aa"}));
    assert_eq!(
        (action["approval_id"].as_i64(), action["conversation_id"].as_i64()),
        (Some(id), Some(s.conversation.0))
    );
    assert_eq!(action["arguments"], asked["arguments"]);
    assert_eq!(action["user_id"], s.user.0);
    let executed = composio
        .requests()
        .into_iter()
        .find(|r| r.path == "/tools/execute/GMAIL_SEND_EMAIL")
        .unwrap();
    assert_eq!(
        executed.body["user_id"],
        s.user.0.to_string(),
        "run for the person who approved"
    );
    for event in ["requested", "approved"] {
        assert_eq!(approvals_counted(s, event).await, 1, "{event}");
    }

    // A second decision (another tab, a retry) is refused and sends nothing.
    let (status, _, detail) = s.decide(id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        detail["detail"].as_str().unwrap().contains("already approved"),
        "{detail}"
    );
    assert_eq!(sends(composio).len(), 1);
    assert_eq!(s.get("/conversations/{c}/approvals").await["approvals"], json!([]));
}

#[tokio::test]
async fn a_send_waits_for_approval_and_runs_once_on_openai() {
    let composio = FakeComposio::start().await;
    let llm = FakeOpenAi::start().await;
    let s = setup(&composio, &openai_vars(&llm), None).await;
    approve_then_answer(&composio, &llm, &s).await;
}

#[tokio::test]
async fn a_send_waits_for_approval_and_runs_once_on_gemini() {
    let composio = FakeComposio::start().await;
    let llm = meai_testkit::gemini::FakeGemini::start().await;
    let vars = vec![
        ("MODEL", "gemini".into()),
        ("GOOGLE_API_KEY", "g-test".into()),
        ("GEMINI_BASE_URL", llm.base_url()),
    ];
    let s = setup(&composio, &vars, None).await;
    approve_then_answer(&composio, &llm, &s).await;
}

#[tokio::test]
async fn a_read_only_tool_runs_at_once_and_is_logged() {
    let composio = FakeComposio::start().await;
    composio.set_tool_result(
        "GMAIL_FETCH_EMAILS",
        json!({"messages": [{"id": "m1", "subject": "Lunch"}]}),
    );
    let llm = FakeOpenAi::start().await;
    let s = setup(&composio, &openai_vars(&llm), None).await;
    llm.push(Reply::tool_call("GMAIL_FETCH_EMAILS", json!({"query": "from:bob"})));
    llm.push(Reply::text("Bob wrote about lunch."));
    let frames = s.say("Did Bob write?").await;
    assert!(!frames.iter().any(|(e, _)| e == "tool_approval"), "{frames:?}");
    assert_eq!(answer(&frames), "Bob wrote about lunch.");
    let actions = s.get("/actions?toolkit=gmail").await;
    let action = &actions["actions"][0];
    assert_eq!(
        (action["tool"].as_str(), action["decision"].as_str()),
        (Some("GMAIL_FETCH_EMAILS"), Some("auto"))
    );
    assert_eq!(action["outcome"], "succeeded");
    assert_eq!(action["approval_id"], Value::Null);
}

#[tokio::test]
async fn a_denied_call_never_runs_and_the_model_is_told() {
    let composio = FakeComposio::start().await;
    let llm = FakeOpenAi::start().await;
    let s = setup(&composio, &openai_vars(&llm), None).await;
    let id = s.ask_to_send(&llm).await["approval_id"].as_i64().unwrap();
    llm.push(Reply::text("Understood, I did not send it."));
    let (status, frames, _) = s.decide(id, json!({"decision": "deny"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer(&frames), "Understood, I did not send it.");
    assert_eq!(
        frames[0].1["content"],
        "[GMAIL_SEND_EMAIL] not run: the user declined it"
    );
    assert!(sends(&composio).is_empty());
    assert!(llm.chat_requests().pop().unwrap().to_string().contains("declined"));
    let action = &s.get("/actions").await["actions"][0];
    assert_eq!(
        (action["decision"].as_str(), action["outcome"].as_str()),
        (Some("denied"), Some("not_run"))
    );
    assert_eq!(approvals_counted(&s, "denied").await, 1);
    let (status, _, _) = s.decide(id, json!({"decision": "approve"})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a denied call cannot be approved after all"
    );
}

#[tokio::test]
async fn edited_arguments_run_and_arguments_that_do_not_fit_the_schema_are_400() {
    let composio = FakeComposio::start().await;
    let llm = FakeOpenAi::start().await;
    let s = setup(&composio, &openai_vars(&llm), None).await;
    let id = s.ask_to_send(&llm).await["approval_id"].as_i64().unwrap();
    for bad in [
        json!({"body": "no recipient"}),
        json!({"recipient_email": 42, "body": "x"}),
        json!(["not", "an", "object"]),
    ] {
        let (status, _, detail) = s.decide(id, json!({"decision": "approve", "arguments": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {detail}");
        assert!(detail["detail"].is_string(), "{detail}");
    }
    assert_eq!(
        s.get("/conversations/{c}/approvals").await["approvals"][0]["approval_id"],
        id,
        "still pending"
    );
    assert!(sends(&composio).is_empty());

    let edited = json!({"recipient_email": "alice@example.com", "subject": "Tea", "body": "Tea instead?"});
    llm.push(Reply::text("Sent to Alice."));
    let (status, frames, _) = s.decide(id, json!({"decision": "approve", "arguments": edited})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer(&frames), "Sent to Alice.");
    assert_eq!(sends(&composio), vec![edited.clone()]);
    let action = &s.get("/actions").await["actions"][0];
    assert_eq!(
        (action["decision"].as_str(), &action["arguments"]),
        (Some("edited"), &edited)
    );
}

#[tokio::test]
async fn a_decision_works_after_a_restart() {
    let composio = FakeComposio::start().await;
    let llm = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut vars = openai_vars(&llm);
    vars.push((
        "DATABASE_URL",
        format!("sqlite://{}", dir.path().join("meai.db").display()),
    ));
    let first = setup(&composio, &vars, None).await;
    let id = first.ask_to_send(&llm).await["approval_id"].as_i64().unwrap();
    let conversation = first.conversation.0;
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A new process on the same database: nothing was waiting in memory.
    let second = setup(&composio, &vars, Some(conversation)).await;
    assert_eq!(
        second.get("/conversations/{c}/approvals").await["approvals"][0]["approval_id"],
        id
    );
    llm.push(Reply::text("Sent."));
    let (status, frames, _) = second.decide(id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer(&frames), "Sent.");
    assert_eq!(sends(&composio).len(), 1);
}

#[tokio::test]
async fn an_approval_nobody_decides_expires_and_is_denied() {
    let composio = FakeComposio::start().await;
    let llm = FakeOpenAi::start().await;
    let mut vars = openai_vars(&llm);
    vars.push(("TOOL_APPROVAL_TTL_SECONDS", "1".into()));
    let s = setup(&composio, &vars, None).await;
    let asked = s.ask_to_send(&llm).await;
    let id = asked["approval_id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        s.get("/conversations/{c}/approvals").await["approvals"],
        json!([]),
        "expired: not pending"
    );
    let (status, _, detail) = s.decide(id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(detail["detail"].as_str().unwrap().contains("expired"), "{detail}");
    assert!(sends(&composio).is_empty());
    let action = &s.get("/actions").await["actions"][0];
    assert_eq!(
        (action["decision"].as_str(), action["outcome"].as_str()),
        (Some("expired"), Some("not_run"))
    );
    assert_eq!(approvals_counted(&s, "expired").await, 1);
    assert_eq!(asked["approval_id"], id);
}

#[tokio::test]
async fn policies_are_read_set_and_cleared() {
    let composio = FakeComposio::start().await;
    let llm = FakeOpenAi::start().await;
    let s = setup(&composio, &openai_vars(&llm), None).await;
    let of = |all: &Value, tool: &str| -> (String, String) {
        let t = all["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tool"] == tool)
            .unwrap()
            .clone();
        (
            t["policy"].as_str().unwrap().into(),
            t["source"].as_str().unwrap().into(),
        )
    };
    let all = s.get("/tool-policies").await;
    assert_eq!(all["mode"], "ask_writes");
    assert_eq!(all["rules"], json!([]));
    assert_eq!(of(&all, "GMAIL_FETCH_EMAILS"), ("auto".into(), "default".into()));
    assert_eq!(of(&all, "GMAIL_SEND_EMAIL"), ("ask".into(), "default".into()));

    // Drafts only: sending is never offered, drafting runs at once.
    let (status, rule) = s
        .send(
            reqwest::Method::PUT,
            "/tool-policies/gmail",
            Some(json!({"policy": "drafts_only"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rule}");
    assert_eq!((rule["toolkit"].as_str(), &rule["tool"]), (Some("GMAIL"), &Value::Null));
    let all = s.get("/tool-policies").await;
    assert_eq!(of(&all, "GMAIL_SEND_EMAIL"), ("never".into(), "toolkit".into()));
    assert_eq!(of(&all, "GMAIL_CREATE_EMAIL_DRAFT"), ("auto".into(), "toolkit".into()));
    s.say("Email Bob about lunch").await;
    let offered = llm.chat_requests()[0]["tools"].to_string();
    assert!(
        !offered.contains("GMAIL_SEND_EMAIL") && offered.contains("GMAIL_CREATE_EMAIL_DRAFT"),
        "{offered}"
    );

    // A tool's rule wins over its toolkit's.
    let path = "/tool-policies/GMAIL/GMAIL_SEND_EMAIL";
    let (status, _) = s
        .send(reqwest::Method::PUT, path, Some(json!({"policy": "drafts_only"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .send(reqwest::Method::PUT, path, Some(json!({"policy": "auto"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        of(&s.get("/tool-policies").await, "GMAIL_SEND_EMAIL"),
        ("auto".into(), "tool".into())
    );
    let (status, _) = s.send(reqwest::Method::DELETE, path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.send(reqwest::Method::DELETE, path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.send(reqwest::Method::DELETE, "/tool-policies/gmail", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get("/tool-policies").await["rules"], json!([]));
    let (status, _) = s
        .send(
            reqwest::Method::PUT,
            "/tool-policies/not%20a%20slug",
            Some(json!({"policy": "ask"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .send(
            reqwest::Method::PUT,
            "/tool-policies/gmail",
            Some(json!({"policy": "sometimes"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let anonymous = reqwest::get(s.url("/tool-policies")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_action_log_pages_filters_and_outlives_its_conversation() {
    let composio = FakeComposio::start().await;
    let llm = FakeOpenAi::start().await;
    let mut vars = openai_vars(&llm);
    vars.push(("TOOL_APPROVAL", "auto".into()));
    let s = setup(&composio, &vars, None).await;
    llm.push(Reply::tool_call("GMAIL_FETCH_EMAILS", json!({"query": "a"})));
    llm.push(Reply::tool_call(
        "GMAIL_SEND_EMAIL",
        json!({"recipient_email": "bob@example.com", "body": "hi"}),
    ));
    llm.push(Reply::text("Done."));
    s.say("Read and reply").await;
    let all = s.get("/actions").await["actions"].as_array().unwrap().clone();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["tool"], "GMAIL_SEND_EMAIL", "newest first");
    assert_eq!(all[0]["decision"], "auto", "TOOL_APPROVAL=auto runs sends at once");
    let newest = all[0]["action_id"].as_i64().unwrap();
    let older = s.get(&format!("/actions?limit=1&before={newest}")).await;
    assert_eq!(older["actions"][0]["tool"], "GMAIL_FETCH_EMAILS");
    assert_eq!(s.get("/actions?toolkit=NOTION").await["actions"], json!([]));
    let (status, _) = s.send(reqwest::Method::GET, "/actions?limit=0", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The person's record of what happened to their accounts stays when the chat goes.
    let (status, _) = s.send(reqwest::Method::DELETE, "/conversations/{c}", None).await;
    assert_eq!(status, StatusCode::OK);
    let kept = s.get("/conversations/{c}/actions").await;
    assert_eq!(kept["actions"].as_array().unwrap().len(), 2);
    let filtered = s.get(&format!("/actions?conversation_id={}", s.conversation.0)).await;
    assert_eq!(filtered["actions"], kept["actions"]);

    // And it is nobody else's.
    let (_, other) = s.app.other_user("eve@example.com").await;
    let theirs = reqwest::Client::new()
        .get(s.url("/conversations/{c}/actions"))
        .bearer_auth(other.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(json(theirs).await["actions"], json!([]));
}

//! Export and import over HTTP: an account exported and imported into a fresh user gives the
//! same conversations, messages and memories; importing twice adds nothing; ChatGPT's
//! `conversations.json` (a fixture in its format, with branches and non-text parts) imports with
//! a correct report; malformed files are refused with their first problem and change nothing.

mod common;

use common::{TestApp, json, spawn_app_with};
use meai_core::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("fixtures/chatgpt/conversations.json");

async fn person(app: &TestApp, email: &str) -> (UserId, String) {
    let (user, token) = app.other_user(email).await;
    (user.id, token.expose().to_owned())
}

async fn import(app: &TestApp, token: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/import"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The report's item for the conversation with this id in the file.
fn item<'a>(report: &'a Value, source_id: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source_id"] == source_id && i["kind"] == "conversation")
        .unwrap_or_else(|| panic!("no item {source_id} in {report:#}"))
}

async fn conversations(app: &TestApp, user: UserId) -> Vec<(Conversation, Vec<Message>)> {
    let mut all = Vec::new();
    for c in app.state.store.list_conversations(user, Page::all()).await.unwrap() {
        let messages = app.state.store.list_messages(user, c.id, Page::all()).await.unwrap();
        all.push((c, messages));
    }
    all.sort_by_key(|(c, _)| c.created_at);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatgpt_export_imports_with_a_report_per_conversation() {
    let app = spawn_app_with(&[]).await;
    let (me, token) = person(&app, "ada@example.com").await;
    let resp = import(&app, &token, FIXTURE).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let report = json(resp).await;
    assert_eq!(report["format"], "chatgpt");
    assert_eq!(
        (&report["imported"], &report["skipped"], &report["failed"]),
        (&json!(3), &json!(1), &json!(1))
    );

    let lisbon = item(&report, "6825a1f2-1c3b-8009-9a7e-2f4d1e0b7c11");
    assert_eq!(
        (&lisbon["outcome"], &lisbon["messages"], &lisbon["indexed"]),
        (&json!("imported"), &json!(6), &json!(true))
    );
    assert_eq!(lisbon["title"], "Lisbon trip in May");
    assert_eq!(
        lisbon["left_out"],
        json!({"other branches": 3, "system messages": 1, "custom instructions": 1})
    );
    let plot = item(&report, "6826f3a0-77aa-8009-b1c2-d3e4f5a6b7c8");
    assert_eq!(plot["messages"], 2);
    assert_eq!(
        plot["left_out"],
        json!({"reasoning": 2, "tool calls": 1, "tool output": 2})
    );
    assert_eq!(item(&report, "68280b11-0000-8009-aaaa-bbbbccccdddd")["messages"], 2);
    let broken = item(&report, "68280c22-0000-8009-aaaa-000000000004");
    assert_eq!(broken["outcome"], "failed");
    assert!(broken["reason"].as_str().unwrap().contains("current_node"), "{broken}");
    let empty = item(&report, "68280d33-0000-8009-aaaa-000000000005");
    assert_eq!(
        (&empty["outcome"], &empty["reason"]),
        (&json!("skipped"), &json!("no messages to import"))
    );

    // What was stored: the shown branch, in order, with ChatGPT's times.
    let stored = conversations(&app, me).await;
    assert_eq!(stored.len(), 3, "nothing of the failed or empty ones");
    let (c, messages) = &stored[0];
    assert_eq!(c.title.as_ref().unwrap().as_str(), "Lisbon trip in May");
    assert_eq!(c.created_at.timestamp(), 1746090000);
    let said: Vec<(MessageKind, &str)> = messages.iter().map(|m| (m.kind, m.content.as_str())).collect();
    assert_eq!(
        said,
        vec![
            (
                MessageKind::Human,
                "I'm planning four days in Lisbon in May. Where should I stay?"
            ),
            (
                MessageKind::Ai,
                "For a first visit, Chiado or Príncipe Real: walkable, lively, and close to the trams."
            ),
            (MessageKind::Human, "Is it warm enough to swim in May?"),
            (
                MessageKind::Ai,
                "The Atlantic is still cold in May (about 17 °C); most people only paddle."
            ),
            (MessageKind::Human, "[image]\nWhat is this tower on my photo?"),
            (
                MessageKind::Ai,
                "That is the Belém Tower, a 16th-century fort on the Tagus."
            ),
        ]
    );
    assert_eq!(messages[0].created_at.timestamp_millis(), 1746090001250);
    assert_eq!(
        stored[2].1[0].content,
        "Can you check my budget for mistakes?\n[1 file attached]"
    );
    assert!(
        stored.iter().flat_map(|(_, m)| m).all(|m| !m.content.contains("numpy")),
        "tool calls are not imported"
    );

    // Indexed for recall: search finds it by meaning (the lexical embedder here) and keywords.
    let found = json(
        reqwest::Client::new()
            .get(app.url("/conversations/search?q=Belém%20tower"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        found["results"][0]["similarity"].as_f64().is_some(),
        "found through the index: {found}"
    );
    assert!(found["results"][0]["content"].as_str().unwrap().contains("Belém Tower"));

    // Again: nothing new.
    let again = json(import(&app, &token, FIXTURE).await).await;
    assert_eq!(
        (&again["imported"], &again["skipped"], &again["failed"]),
        (&json!(0), &json!(4), &json!(1))
    );
    assert_eq!(
        item(&again, "6825a1f2-1c3b-8009-9a7e-2f4d1e0b7c11")["reason"],
        "imported before"
    );
    assert_eq!(conversations(&app, me).await.len(), 3);
}

#[tokio::test]
async fn malformed_files_are_refused_with_their_first_problem_and_change_nothing() {
    let app = spawn_app_with(&[("IMPORT_MAX_BYTES", "30000")]).await;
    let (me, token) = person(&app, "ada@example.com").await;
    let detail = |resp: reqwest::Response| async move {
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        json(resp).await["detail"].as_str().unwrap().to_owned()
    };
    let cut = detail(import(&app, &token, &FIXTURE[..FIXTURE.len() / 2]).await).await;
    assert!(
        cut.contains("conversations.json is not valid") && cut.contains("line"),
        "{cut}"
    );
    // A message without an author, in the second conversation.
    let mut broken: Value = serde_json::from_str(FIXTURE).unwrap();
    broken[1]["mapping"]["11111111-aaaa-4bbb-8ccc-000000000001"]["message"]
        .as_object_mut()
        .unwrap()
        .remove("author");
    let missing = detail(import(&app, &token, broken.to_string()).await).await;
    assert!(
        missing.contains("[1].mapping.11111111-aaaa-4bbb-8ccc-000000000001.message") && missing.contains("author"),
        "names where: {missing}"
    );
    let other = detail(import(&app, &token, "\"hello\"").await).await;
    assert!(
        other.contains("meAI export") && other.contains("conversations.json"),
        "{other}"
    );
    let wrong = detail(import(&app, &token, r#"{"format": "other", "version": 1}"#).await).await;
    assert!(wrong.contains("meai-export"), "{wrong}");
    let newer = detail(import(&app, &token, r#"{"format": "meai-export", "version": 99}"#).await).await;
    assert!(newer.contains("version 99"), "{newer}");
    assert!(conversations(&app, me).await.is_empty(), "nothing was imported");
    let big = import(&app, &token, format!("[{}]", " ".repeat(40_000))).await;
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(json(big).await["detail"].as_str().unwrap().contains("IMPORT_MAX_BYTES"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imported_into_a_fresh_account_is_the_same_account() {
    let app = spawn_app_with(&[]).await;
    let (a, a_token) = person(&app, "ada@example.com").await;
    let store = &app.state.store;
    let mut kept = None;
    for (title, texts) in [
        ("Dogs", ["My dog is Rex", "Rex is a good name"]),
        ("Work", ["I am a nurse", "Nice"]),
    ] {
        let c = store
            .create_conversation(a, Title::parse(title).ok().as_ref())
            .await
            .unwrap();
        for (i, text) in texts.iter().enumerate() {
            let kind = if i == 0 { MessageKind::Human } else { MessageKind::Ai };
            let m = store
                .append_message(a, c.id, &NewMessage::new(kind, *text))
                .await
                .unwrap();
            kept.get_or_insert(m);
        }
        store.set_summary(a, c.id, &format!("About {title}")).await.unwrap();
    }
    let source = kept.unwrap();
    // A second answer to the first question: a branch, shown.
    let again = NewMessage::new(MessageKind::Ai, "Rex is a fine name").under(Some(source.id));
    store.append_message(a, source.conversation_id, &again).await.unwrap();
    let memory = NewMemory {
        content: MemoryText::parse("The user's dog is Rex").unwrap(),
        origin: MemoryOrigin::Extracted,
        source: Some(MemorySource {
            message_id: source.id,
            conversation_id: source.conversation_id,
        }),
    };
    store.record_extraction(a, &[source.id], &[memory], 100).await.unwrap();
    app.state
        .memory
        .add_memory(a, "Prefers meetings after 10", MemoryOrigin::Person, None)
        .await
        .unwrap();

    let resp = reqwest::Client::new()
        .get(app.url("/export"))
        .bearer_auth(&a_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"meai-export-")
    );
    let exported = resp.text().await.unwrap();
    let document: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(
        (&document["format"], &document["version"]),
        (&json!("meai-export"), &json!(1))
    );
    assert_eq!(document["profile"]["email"], "ada@example.com");
    assert_eq!(document["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(document["memories"].as_array().unwrap().len(), 2);
    assert!(!exported.contains("ca_"), "no toolkit account ids");

    let (b, b_token) = person(&app, "bob@example.com").await;
    let report = json(import(&app, &b_token, exported.clone()).await).await;
    assert_eq!(report["format"], "meai");
    assert_eq!(
        (&report["imported"], &report["failed"]),
        (&json!(4), &json!(0)),
        "{report:#}"
    );
    let strip = |all: Vec<(Conversation, Vec<Message>)>| {
        all.into_iter()
            .map(|(c, m)| {
                let messages: Vec<_> = m.into_iter().map(|m| (m.kind, m.content, m.created_at)).collect();
                (c.title, c.summary, c.created_at, c.updated_at, messages)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(conversations(&app, b).await), strip(conversations(&app, a).await));
    // Every branch came along, each message under the same one, the same branch shown.
    let served = &app;
    let shapes = |u: UserId| async move {
        let mut out = Vec::new();
        for (c, _) in conversations(served, u).await {
            let all = store.messages_page(u, c.id, None, 100).await.unwrap();
            let text = |id: Option<MessageId>| {
                id.and_then(|id| all.iter().find(|m| m.id == id))
                    .map(|m| m.content.clone())
            };
            let tree = store.message_tree(u, c.id).await.unwrap();
            let placed: Vec<_> = all.iter().map(|m| (m.content.clone(), text(m.parent_id))).collect();
            out.push((placed, text(tree.active_leaf)));
        }
        out
    };
    let (mine, theirs) = (shapes(a).await, shapes(b).await);
    assert_eq!(theirs, mine);
    assert!(
        mine.iter().any(|(placed, _)| placed.len() == 3),
        "the branch was exported"
    );
    let memories = |u| async move {
        let mut m: Vec<String> = store
            .list_memories(u, Page::all())
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.content.as_str().to_owned())
            .collect();
        m.sort();
        m
    };
    assert_eq!(memories(b).await, memories(a).await);
    let rex = store
        .list_memories(b, Page::all())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.content.as_str().contains("Rex"))
        .unwrap();
    let source = rex.source.expect("the memory keeps its source");
    let said = store
        .list_messages(b, source.conversation_id, Page::all())
        .await
        .unwrap();
    assert_eq!(
        said[0].id, source.message_id,
        "pointing at the imported copy of its message"
    );

    // Twice: nothing new. And the person's own export into their own account: already there.
    let again = json(import(&app, &b_token, exported.clone()).await).await;
    assert_eq!(again["imported"], 0, "{again:#}");
    assert_eq!(conversations(&app, b).await.len(), 2);
    let own = json(import(&app, &a_token, exported).await).await;
    assert_eq!(own["imported"], 0, "{own:#}");
    assert_eq!(
        item(&own, &document["conversations"][0]["conversation_id"].to_string())["reason"],
        "already in this account"
    );
    assert_eq!(conversations(&app, a).await.len(), 2);
}

//! Memories end to end, on the real adapters and each vector index (local, Chroma, the Qdrant
//! test server), with a scripted model: a fact said in one conversation is extracted in the
//! background upkeep call, recalled in another conversation, corrected, deleted, and memory off
//! means nothing is extracted or recalled.

mod common;

use common::{TestApp, json, spawn_app_customized};
use meai_core::memory::{VectorIndex, VectorQuery, VectorScope, space_of};
use meai_core::model::{ChatMessage, ChatRequest, Embedder};
use meai_core::turn::TurnRequest;
use meai_core::{ConversationId, MemoryId, Page, UserId};
use meai_mock::{Script, ScriptedChatModel};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

struct Setup {
    app: TestApp,
    model: ScriptedChatModel,
    index: Arc<dyn VectorIndex>,
    embedder: Arc<dyn Embedder>,
    user: UserId,
    token: String,
}

async fn setup(vars: &[(&str, &str)]) -> Setup {
    let model = ScriptedChatModel::new();
    let mut parts = None;
    let mut all = vec![("MEMORY_MIN_SCORE", "0.05")];
    all.extend_from_slice(vars);
    let app = spawn_app_customized(&all, |mut a| {
        a.model = Some(Arc::new(model.clone()));
        parts = Some((a.index.clone(), a.embedder.clone()));
        a
    })
    .await;
    let (index, embedder) = parts.expect("adapters");
    let (user, token) = app.other_user("dora@example.com").await;
    Setup {
        app,
        model,
        index,
        embedder,
        user: user.id,
        token: token.expose().to_owned(),
    }
}

impl Setup {
    /// One turn in a new conversation: the answer, then the background upkeep answer.
    async fn turn(&self, text: &str, answer: &str, upkeep: &str) -> (ConversationId, ChatRequest) {
        let conversation = self
            .app
            .state
            .store
            .create_conversation(self.user, None)
            .await
            .unwrap()
            .id;
        self.model.push(Script::text(answer));
        self.model.push(Script::text(upkeep));
        let before = self.model.requests().len();
        let request = TurnRequest {
            content: text.into(),
            client_message_id: None,
        };
        let started = self
            .app
            .state
            .turns
            .start(self.user, conversation, request)
            .await
            .unwrap();
        started.work.await;
        let requests = self.model.requests();
        assert_eq!(requests.len(), before + 2, "one answer and one upkeep call, no more");
        (conversation, requests[before].clone())
    }

    fn http(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, self.app.url(path))
            .bearer_auth(&self.token)
    }

    /// The memory ids the index finds for `text` (the index itself, not recall).
    async fn indexed_memories(&self, text: &str) -> Vec<MemoryId> {
        let vector = self.embedder.embed(&[text.to_owned()]).await.unwrap().remove(0);
        let space = space_of(self.embedder.model_id(), vector.len());
        let query = VectorQuery {
            user: self.user,
            scope: VectorScope::Memories,
            vector: &vector,
            k: 50,
        };
        self.index
            .search(&space, &query)
            .await
            .unwrap()
            .iter()
            .filter_map(|h| h.memory())
            .collect()
    }
}

/// The system message of recalled memories the model received, if any.
fn remembered(request: &ChatRequest) -> Option<String> {
    request.messages.iter().find_map(|m| match m {
        ChatMessage::System(s) if s.starts_with("What you remember about the user") => Some(s.clone()),
        _ => None,
    })
}

fn upkeep(memories: serde_json::Value) -> String {
    json!({"title": "A chat", "memories": memories}).to_string()
}

async fn lifecycle(vars: &[(&str, &str)]) {
    let s = setup(vars).await;

    // Said in one conversation: extracted from the person's message, with its source.
    let (first, _) = s
        .turn(
            "My dog is called Bartholomew, by the way",
            "What a grand name!",
            &upkeep(json!([{"from": 1, "memory": "The user's dog is called Bartholomew"}])),
        )
        .await;
    let upkeep_call = s.model.requests()[1].clone();
    let asked = format!("{upkeep_call:?}");
    assert!(
        asked.contains("[1] My dog is called Bartholomew"),
        "the person's message is the source: {asked}"
    );
    let list = json(s.http(reqwest::Method::GET, "/memories").send().await.unwrap()).await;
    assert_eq!(list["total"], 1, "{list}");
    let memory = &list["memories"][0];
    assert_eq!(memory["content"], "The user's dog is called Bartholomew");
    assert_eq!(memory["origin"], "extracted");
    assert_eq!(memory["source_conversation_id"], first.0);
    let id = memory["memory_id"].as_i64().unwrap();
    assert_eq!(s.indexed_memories("dog Bartholomew").await, vec![MemoryId(id)]);

    // Recalled in another conversation.
    let (_, answer) = s
        .turn("What is my dog called?", "Bartholomew.", &upkeep(json!([])))
        .await;
    let recalled = remembered(&answer).expect("memories in the context");
    assert!(recalled.contains("The user's dog is called Bartholomew"), "{recalled}");

    // Corrected: recall says the new text.
    let patched = s
        .http(reqwest::Method::PATCH, &format!("/memories/{id}"))
        .json(&json!({"content": "The user's dog is called Rex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let (_, answer) = s.turn("What is my dog called?", "Rex.", &upkeep(json!([]))).await;
    let recalled = remembered(&answer).expect("memories in the context");
    assert!(
        recalled.contains("dog is called Rex") && !recalled.contains("Bartholomew"),
        "{recalled}"
    );

    // Deleted: gone from the index and from recall, and never extracted again from its message.
    let deleted = s
        .http(reqwest::Method::DELETE, &format!("/memories/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    assert!(
        s.indexed_memories("dog Rex").await.is_empty(),
        "the vector is gone from the index"
    );
    let (_, answer) = s
        .turn("What is my dog called?", "I don't know.", &upkeep(json!([])))
        .await;
    assert_eq!(remembered(&answer), None);
    let messages = s
        .app
        .state
        .store
        .list_messages(s.user, first, Page::all())
        .await
        .unwrap();
    assert!(
        s.app
            .state
            .memory
            .to_extract(s.user, &messages)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.app.state.store.count_memories(s.user).await.unwrap(), 0);

    // Memory off: nothing extracted (the upkeep call is a plain title call) and nothing recalled.
    let off = s
        .http(reqwest::Method::PUT, "/memories/settings")
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(off).await["enabled"], false);
    let (_, answer) = s.turn("My cat is called Tom", "Hello Tom!", "Cats").await;
    let title_call = s.model.requests().last().unwrap().clone();
    assert!(
        !format!("{title_call:?}").contains("memories"),
        "no extraction asked: {title_call:?}"
    );
    assert_eq!(remembered(&answer), None);
    s.app
        .state
        .memory
        .add_memory(
            s.user,
            "The user's cat is called Tom",
            meai_core::MemoryOrigin::Person,
            None,
        )
        .await
        .unwrap();
    let (_, answer) = s.turn("What is my cat called?", "No idea.", "Cats").await;
    assert_eq!(remembered(&answer), None, "memory off: nothing recalled");
    assert!(
        !answer
            .messages
            .iter()
            .any(|m| matches!(m, ChatMessage::System(t) if t.contains("Earlier messages"))),
        "not even earlier messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memories_on_the_local_index() {
    lifecycle(&[]).await;
}

#[cfg(feature = "qdrant")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memories_on_the_qdrant_test_server() {
    let fake = meai_testkit::qdrant::FakeQdrant::start().await;
    let url = fake.url();
    lifecycle(&[("VECTOR_STORE", "qdrant"), ("QDRANT_URL", &url)]).await;
}

#[cfg(feature = "chroma")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memories_on_chroma() {
    let url = meai_testkit::need::chroma_url();
    let (host, port) = url.rsplit_once(':').expect("host:port");
    lifecycle(&[("VECTOR_STORE", "chroma"), ("CHROMA_HOST", host), ("CHROMA_PORT", port)]).await;
}

#[tokio::test]
async fn memories_are_bounded_and_validated_over_http() {
    let s = setup(&[("MEMORY_MAX_PER_USER", "2")]).await;
    let post = |content: String| {
        s.http(reqwest::Method::POST, "/memories")
            .json(&json!({ "content": content }))
            .send()
    };
    assert_eq!(post("Likes tea".into()).await.unwrap().status(), StatusCode::CREATED);
    let again = post("likes tea.".into()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK, "a duplicate is returned, not added");
    assert_eq!(post("x".repeat(501)).await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(post("  ".into()).await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(post("Has a cat".into()).await.unwrap().status(), StatusCode::CREATED);
    let full = post("Lives in Porto".into()).await.unwrap();
    assert_eq!(full.status(), StatusCode::CONFLICT);
    assert!(json(full).await["detail"].as_str().unwrap().contains("full"));
    // Another person's memory is missing, exactly like a missing one.
    let (_, other) = s.app.other_user("eve@example.com").await;
    let mine = json(s.http(reqwest::Method::GET, "/memories").send().await.unwrap()).await;
    let id = mine["memories"][0]["memory_id"].as_i64().unwrap();
    let theirs = reqwest::Client::new()
        .delete(s.app.url(&format!("/memories/{id}")))
        .bearer_auth(other.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let none = s
        .http(reqwest::Method::DELETE, "/memories/999999")
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        json(s.http(reqwest::Method::GET, "/memories").send().await.unwrap()).await["total"],
        2
    );
}

//! Memory in the turn: what was said in an earlier conversation is recalled into the request
//! the model receives (over the fake OpenAI API, embeddings included).

mod common;

use common::spawn_app_with;
use meai_core::turn::TurnRequest;
use meai_testkit::openai::FakeOpenAi;
use std::time::Duration;

async fn turn(app: &common::TestApp, user: meai_core::UserId, conversation: meai_core::ConversationId, text: &str) {
    let request = TurnRequest {
        content: text.into(),
        client_message_id: None,
    };
    let started = app.state.turns.start(user, conversation, request).await.unwrap();
    started.work.await;
}

#[tokio::test]
async fn a_turn_recalls_an_earlier_conversation() {
    let fake = FakeOpenAi::start().await;
    let base = fake.base_url();
    let app = spawn_app_with(&[
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &base),
    ])
    .await;
    let memory = app.state.memory.clone();
    assert!(
        !memory.embedder_id().starts_with("lexical"),
        "the provider's embedder: {}",
        memory.embedder_id()
    );
    let (user, _) = app.other_user("dora@example.com").await;

    let first = app.state.store.create_conversation(user.id, None).await.unwrap();
    turn(&app, user.id, first.id, "My cat is called Whiskers and she loves tuna").await;
    // Indexing happens after the turn, in the background.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while memory.stats().snapshot().indexed < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not indexed: {:?}",
            memory.stats().snapshot()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!fake.embedding_requests().is_empty(), "embedded through the provider");

    let second = app.state.store.create_conversation(user.id, None).await.unwrap();
    let question = "What does my cat Whiskers like to eat?";
    turn(&app, user.id, second.id, question).await;
    let requests = fake.chat_requests();
    let answer = requests
        .iter()
        .find(|r| r.to_string().contains(question) && r["stream"] == true)
        .expect("the answer's request");
    let system: Vec<&str> = answer["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "system")
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(
        system
            .iter()
            .any(|s| s.contains("Earlier messages") && s.contains("Whiskers and she loves tuna")),
        "recalled context from the earlier conversation: {system:?}"
    );
    assert_eq!(memory.stats().snapshot().recall_failures, 0);
}

#[tokio::test]
async fn without_a_provider_memory_is_lexical_and_local() {
    let app = spawn_app_with(&[]).await;
    let memory = app.state.memory.clone();
    assert!(memory.embedder_id().starts_with("lexical/"), "{}", memory.embedder_id());
    assert_eq!(memory.index_kind(), "local");
}

//! What memory extraction is offered, over the mock adapters: the person's own messages only
//! (never tool output or the assistant's words), each once, and nothing while memory is off or
//! from before it was turned back on.

use meai_core::memory::{Memory, MemorySettings};
use meai_core::store::*;
use meai_core::*;
use meai_mock::{HashEmbedder, MemoryIndex, MemoryStore};
use std::sync::Arc;

async fn setup() -> (Memory, Arc<MemoryStore>, UserId, ConversationId) {
    let store = Arc::new(MemoryStore::default());
    let memory = Memory::new(
        Arc::new(HashEmbedder::default()),
        Arc::new(MemoryIndex::default()),
        store.clone(),
        store.clone(),
        MemorySettings::default(),
    );
    let profile = NewUser {
        email: Email::parse("ada@example.com").unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    let me = store.upsert_user(&profile, chrono::Utc::now()).await.unwrap().id;
    let conv = store.create_conversation(me, None).await.unwrap().id;
    (memory, store, me, conv)
}

async fn say(store: &MemoryStore, me: UserId, conv: ConversationId, kind: MessageKind, text: &str) -> Message {
    store
        .append_message(me, conv, &NewMessage::new(kind, text))
        .await
        .unwrap()
}

#[tokio::test]
async fn only_the_persons_messages_are_offered_and_each_once() {
    let (memory, store, me, conv) = setup().await;
    let human = say(
        &store,
        me,
        conv,
        MessageKind::Human,
        "Email my sister Ana, she lives in Faro",
    )
    .await;
    let tool = say(
        &store,
        me,
        conv,
        MessageKind::Tool,
        "[GMAIL_SEND_EMAIL] sent to ana@example.com",
    )
    .await;
    let ai = say(&store, me, conv, MessageKind::Ai, "Done: your sister lives in Faro.").await;
    let all = [human.clone(), tool, ai];
    let offered = memory.to_extract(me, &all).await.unwrap();
    assert_eq!(offered.iter().map(|m| m.id).collect::<Vec<_>>(), vec![human.id]);

    let added = memory
        .record_extraction(
            me,
            &offered,
            &[(human.id, "The user's sister Ana lives in Faro".into())],
        )
        .await
        .unwrap();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].source.unwrap().message_id, human.id);
    assert!(memory.to_extract(me, &all).await.unwrap().is_empty(), "extracted once");
    // A memory attributed to a message that was not offered is not stored.
    let later = say(&store, me, conv, MessageKind::Human, "I like jazz").await;
    let stray = memory
        .record_extraction(
            me,
            std::slice::from_ref(&later),
            &[(MessageId(999_999), "made up".into())],
        )
        .await
        .unwrap();
    assert!(stray.is_empty());
}

#[tokio::test]
async fn nothing_is_offered_while_memory_is_off_nor_from_before_it_came_back() {
    let (memory, store, me, conv) = setup().await;
    memory.set_switch(me, false).await.unwrap();
    let while_off = say(&store, me, conv, MessageKind::Human, "My PIN is 1234").await;
    assert!(
        memory
            .to_extract(me, std::slice::from_ref(&while_off))
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    memory.set_switch(me, true).await.unwrap();
    let after = say(&store, me, conv, MessageKind::Human, "I live in Porto").await;
    let offered = memory.to_extract(me, &[while_off, after.clone()]).await.unwrap();
    assert_eq!(offered.iter().map(|m| m.id).collect::<Vec<_>>(), vec![after.id]);
}

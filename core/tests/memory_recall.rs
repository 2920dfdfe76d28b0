//! What recall brings back, over the mock adapters: of the conversation asked in, only the
//! branch shown and not its latest messages (the history already has those; another branch is
//! an answer the person set aside); of other conversations, any message; at most `limit`, in
//! score order.

use meai_core::memory::{Memory, MemorySettings};
use meai_core::store::*;
use meai_core::*;
use meai_mock::{HashEmbedder, MemoryIndex, MemoryStore};
use std::collections::BTreeSet;
use std::sync::Arc;

async fn say(store: &MemoryStore, me: UserId, conv: ConversationId, message: NewMessage) -> Message {
    store.append_message(me, conv, &message).await.unwrap()
}

#[tokio::test]
async fn recall_skips_the_latest_messages_and_branches_set_aside() {
    let store = Arc::new(MemoryStore::default());
    let settings = MemorySettings {
        recent_window: 2,
        // Every indexed message is a hit: what is left out is left out by the rules alone.
        min_similarity: -1.0,
        ..MemorySettings::default()
    };
    let memory = Memory::new(
        Arc::new(HashEmbedder::default()),
        Arc::new(MemoryIndex::default()),
        store.clone(),
        store.clone(),
        settings,
    );
    let profile = NewUser {
        email: Email::parse("ada@example.com").unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    let me = store.upsert_user(&profile, chrono::Utc::now()).await.unwrap().id;
    let here = store.create_conversation(me, None).await.unwrap().id;
    let elsewhere = store.create_conversation(me, None).await.unwrap().id;

    let human = |text: &str| NewMessage::new(MessageKind::Human, text);
    let ai = |text: &str| NewMessage::new(MessageKind::Ai, text);
    let q1 = say(&store, me, here, human("my cat eats tuna")).await;
    let aside = say(&store, me, here, ai("an answer set aside").under(Some(q1.id))).await;
    let a1 = say(&store, me, here, ai("tuna it is").under(Some(q1.id))).await;
    let q2 = say(&store, me, here, human("and my dog eats rice")).await;
    let a2 = say(&store, me, here, ai("rice for the dog")).await;
    let q3 = say(&store, me, here, human("what do my pets eat")).await;
    let other = say(&store, me, elsewhere, human("my cat is called Whiskers")).await;
    let all = [
        q1.clone(),
        aside.clone(),
        a1.clone(),
        q2.clone(),
        a2.clone(),
        q3.clone(),
        other.clone(),
    ];
    assert_eq!(memory.index(&all).await.unwrap(), all.len());

    let recalled = memory.recall(me, here, "what do my pets eat", 10).await.unwrap();
    let got: BTreeSet<MessageId> = recalled.messages.iter().map(|m| m.id).collect();
    let earlier: BTreeSet<MessageId> = [q1.id, a1.id, q2.id, other.id].into();
    assert_eq!(
        got,
        earlier,
        "not {:?} (set aside) nor {:?} (latest)",
        aside.id,
        [a2.id, q3.id]
    );
    assert!(
        recalled.messages.iter().all(|m| !m.content.is_empty()),
        "with their text"
    );

    let first = memory
        .recall(me, here, "what do my pets eat", 1)
        .await
        .unwrap()
        .messages;
    assert_eq!(first.len(), 1, "at most the limit");
    assert_eq!(
        Some(first[0].id),
        recalled.messages.first().map(|m| m.id),
        "the best hit first"
    );
}

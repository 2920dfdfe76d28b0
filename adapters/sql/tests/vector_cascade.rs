//! Deleting a message, a conversation or a memory (or editing a memory) deletes its vectors, in
//! the store's transaction.

use meai_core::memory::{VectorIndex, VectorItem, VectorPoint, VectorQuery, VectorScope};
use meai_core::store::{ConversationStore, MemoryFactStore, MessageStore, Remembered, UserStore};
use meai_core::{AuthMethod, Email, MemoryOrigin, MemoryText, MessageKind, NewMemory, NewMessage, NewUser, UserId};
use meai_sql::{SqlStore, SqlVectorIndex};

const SPACE: &str = "test#2";

async fn found(index: &SqlVectorIndex, user: UserId, scope: VectorScope) -> Vec<VectorItem> {
    let q = VectorQuery {
        user,
        scope,
        vector: &[1.0, 0.0],
        k: 10,
    };
    index
        .search(SPACE, &q)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.item)
        .collect()
}

#[tokio::test]
async fn deletes_cascade_to_vectors() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let index = SqlVectorIndex::new(&store);
    let profile = NewUser {
        email: Email::parse("cascade@example.com").unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    let user = store.upsert_user(&profile, chrono::Utc::now()).await.unwrap();
    let a = store.create_conversation(user.id, None).await.unwrap();
    let b = store.create_conversation(user.id, None).await.unwrap();
    let mut points = Vec::new();
    let mut ids = Vec::new();
    for (conv, text) in [(a.id, "one"), (a.id, "two"), (b.id, "three")] {
        let m = store
            .append_message(user.id, conv, &NewMessage::new(MessageKind::Human, text))
            .await
            .unwrap();
        ids.push(m.id);
        points.push(VectorPoint {
            item: VectorItem::Message {
                id: m.id,
                conversation: conv,
            },
            user_id: user.id,
            vector: vec![1.0, 0.0],
        });
    }
    let mut memories = Vec::new();
    for text in ["likes tea", "has a cat"] {
        let memory = NewMemory {
            content: MemoryText::parse(text).unwrap(),
            origin: MemoryOrigin::Person,
            source: None,
        };
        let Remembered::New(fact) = store.add_memory(user.id, &memory, 10).await.unwrap() else {
            panic!("a new memory")
        };
        points.push(VectorPoint {
            item: VectorItem::Memory { id: fact.id },
            user_id: user.id,
            vector: vec![1.0, 0.0],
        });
        memories.push(fact.id);
    }
    index.upsert(SPACE, &points).await.unwrap();
    assert_eq!(
        found(&index, user.id, VectorScope::Messages).await.len(),
        3,
        "cached now"
    );
    assert_eq!(
        found(&index, user.id, VectorScope::Memories).await.len(),
        2,
        "cached now"
    );

    store.delete_message(user.id, b.id, ids[2]).await.unwrap();
    assert_eq!(
        found(&index, user.id, VectorScope::Messages).await.len(),
        2,
        "the deleted message's vector is gone"
    );
    store.delete_conversation(user.id, a.id).await.unwrap();
    assert!(
        found(&index, user.id, VectorScope::Messages).await.is_empty(),
        "the conversation's vectors are gone"
    );
    assert_eq!(
        found(&index, user.id, VectorScope::Memories).await.len(),
        2,
        "memories stay"
    );

    store.delete_memory(user.id, memories[0]).await.unwrap();
    let edited = MemoryText::parse("has two cats").unwrap();
    store.edit_memory(user.id, memories[1], &edited).await.unwrap();
    assert!(
        found(&index, user.id, VectorScope::Memories).await.is_empty(),
        "a deleted memory's vector is gone, an edited one's old vector too"
    );

    // Not only from the caches: from the tables too.
    let fresh = SqlVectorIndex::new(&SqlStore::from_connection(store.connection().clone()));
    assert!(found(&fresh, user.id, VectorScope::Messages).await.is_empty());
    assert!(found(&fresh, user.id, VectorScope::Memories).await.is_empty());
}

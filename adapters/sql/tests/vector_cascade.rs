//! Deleting a message or a conversation deletes its vectors, in the store's transaction.

use meai_core::memory::{VectorIndex, VectorPoint, VectorQuery};
use meai_core::store::{ConversationStore, MessageStore, UserStore};
use meai_core::{AuthMethod, Email, MessageKind, NewMessage, NewUser};
use meai_sql::{SqlStore, SqlVectorIndex};

const SPACE: &str = "test#2";

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
    for (conv, text) in [(a.id, "one"), (a.id, "two"), (b.id, "three")] {
        let m = store
            .append_message(user.id, conv, &NewMessage::new(MessageKind::Human, text))
            .await
            .unwrap();
        points.push(VectorPoint {
            message_id: m.id,
            conversation_id: conv,
            user_id: user.id,
            vector: vec![1.0, 0.0],
        });
    }
    index.upsert(SPACE, &points).await.unwrap();
    let all = |index: SqlVectorIndex| async move {
        let q = VectorQuery {
            user: user.id,
            conversation: None,
            vector: &[1.0, 0.0],
            k: 10,
        };
        index
            .search(SPACE, &q)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.message_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(all(index.clone()).await.len(), 3, "cached now");

    store.delete_message(user.id, b.id, points[2].message_id).await.unwrap();
    assert_eq!(
        all(index.clone()).await.len(),
        2,
        "the deleted message's vector is gone"
    );
    store.delete_conversation(user.id, a.id).await.unwrap();
    assert!(
        all(index.clone()).await.is_empty(),
        "the conversation's vectors are gone"
    );

    // Not only from the cache: from the table too.
    let fresh = SqlVectorIndex::new(&SqlStore::from_connection(store.connection().clone()));
    assert!(all(fresh).await.is_empty());
}

//! Committed messages are kept in memory by id; two instances on one database (two pools stand
//! in for two processes) show that a page one of them has read, and so keeps, still shows what
//! the other changed since: a deleted answer gone, the answer written in its place, a deleted
//! conversation not found. On SQLite and PostgreSQL.

mod common;

use chrono::Utc;
use meai_core::store::{ConversationStore, MessageStore, UserStore};
use meai_core::*;
use meai_sql::SqlStore;

async fn texts(store: &SqlStore, user: UserId, conversation: ConversationId) -> Vec<(MessageId, String)> {
    let listed = store
        .list_messages(user, conversation, Page::all())
        .await
        .expect("list messages");
    listed.into_iter().map(|m| (m.id, m.content)).collect()
}

async fn say(store: &SqlStore, user: UserId, conversation: ConversationId, kind: MessageKind, text: &str) -> Message {
    store
        .append_message(user, conversation, &NewMessage::new(kind, text))
        .await
        .expect("append message")
}

async fn pages_follow_the_other_instances_writes(one: &SqlStore, other: &SqlStore) {
    let profile = NewUser {
        email: Email::parse("cached@example.com").unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    let user = one.upsert_user(&profile, Utc::now()).await.unwrap().id;
    let c = one.create_conversation(user, None).await.unwrap().id;
    let question = say(one, user, c, MessageKind::Human, "question").await;
    let answer = say(one, user, c, MessageKind::Ai, "first answer").await;
    let before = vec![
        (question.id, "question".to_owned()),
        (answer.id, "first answer".to_owned()),
    ];
    assert_eq!(texts(one, user, c).await, before);
    assert_eq!(texts(other, user, c).await, before);

    other.delete_message(user, c, answer.id).await.unwrap();
    let again = say(other, user, c, MessageKind::Ai, "second answer").await;
    let after = vec![
        (question.id, "question".to_owned()),
        (again.id, "second answer".to_owned()),
    ];
    assert_eq!(texts(one, user, c).await, after, "the instance that kept the page");
    assert_eq!(texts(other, user, c).await, after);

    other.delete_conversation(user, c).await.unwrap();
    assert!(matches!(
        one.list_messages(user, c, Page::all()).await,
        Err(StoreError::NotFound)
    ));
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_pages_follow_another_instances_writes() {
    let db = common::TempSqlite::new().await;
    let other = SqlStore::connect(&common::TempSqlite::url_of(db.path())).await.unwrap();
    pages_follow_the_other_instances_writes(&db, &other).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_pages_follow_another_instances_writes() {
    let db = common::TempPostgres::new().await;
    let other = SqlStore::connect(&db.own_url()).await.unwrap();
    pages_follow_the_other_instances_writes(&db, &other).await;
    other.connection().clone().close().await.ok();
}

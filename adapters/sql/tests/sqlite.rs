//! What only the SQLite backend must guarantee: its pragmas, concurrent writers, in-memory use.
#![cfg(feature = "sqlite")]

mod common;

use chrono::Utc;
use common::TempSqlite;
use meai_core::store::{ConversationStore, MessageStore, UserStore};
use meai_core::*;
use meai_sql::SqlStore;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

async fn pragma(store: &SqlStore, name: &str) -> String {
    let row = store
        .connection()
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, format!("PRAGMA {name}")))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .unwrap()
}

async fn someone(store: &SqlStore, tag: &str) -> User {
    let profile = NewUser {
        email: Email::parse(&format!("{tag}@example.com")).unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    store.upsert_user(&profile, Utc::now()).await.unwrap()
}

#[tokio::test]
async fn file_database_runs_in_wal_mode_with_tuned_pragmas() {
    let db = TempSqlite::new().await;
    assert_eq!(db.backend(), "sqlite");
    assert_eq!(pragma(&db, "journal_mode").await, "wal");
    assert_eq!(pragma(&db, "foreign_keys").await, "1");
    assert_eq!(pragma(&db, "synchronous").await, "1", "NORMAL");
    assert_eq!(pragma(&db, "busy_timeout").await, "5000");
    // WAL is a property of the file: a second, independent connection sees it too.
    let again = SqlStore::connect(&TempSqlite::url_of(db.path())).await.unwrap();
    assert_eq!(pragma(&again, "journal_mode").await, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_writers_all_succeed() {
    let db = TempSqlite::new().await;
    // A second pool on the same file stands in for another process: its writers do not share
    // this one's queue, so they rely on busy_timeout and BEGIN IMMEDIATE.
    let other = SqlStore::connect(&TempSqlite::url_of(db.path())).await.unwrap();
    let owner = someone(&db, "writer").await;
    let conversation = db.create_conversation(owner.id, None).await.unwrap();
    let writers = (0..50).map(|i| {
        let store = if i % 2 == 0 { (*db).clone() } else { other.clone() };
        tokio::spawn(async move {
            let user = someone(&store, &format!("writer{i}")).await;
            store.create_conversation(user.id, None).await?;
            store
                .append_message(
                    owner.id,
                    conversation.id,
                    &NewMessage::new(MessageKind::Human, format!("{i}")),
                )
                .await
        })
    });
    for result in futures::future::join_all(writers).await {
        result.expect("writer task").expect("write");
    }
    assert_eq!(
        db.list_messages(owner.id, conversation.id, Page::all())
            .await
            .unwrap()
            .len(),
        50
    );
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let db = TempSqlite::new().await;
    db.migrate().await.expect("second run on the same pool");
    let reopened = SqlStore::connect(&TempSqlite::url_of(db.path())).await.unwrap();
    reopened.migrate().await.expect("run from a new connection");
    someone(&reopened, "after-remigrate").await;
}

#[tokio::test]
async fn in_memory_database_is_one_shared_connection() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let user = someone(&store, "memory").await;
    let conversation = store.create_conversation(user.id, None).await.unwrap();
    let reads = (0..8).map(|_| store.get_conversation(user.id, conversation.id));
    for read in futures::future::join_all(reads).await {
        assert_eq!(read.unwrap(), conversation);
    }
    store.ping().await.unwrap();
}

#[tokio::test]
async fn missing_directories_are_created() {
    let dir = std::env::temp_dir().join(format!("meai-test-dir-{}", uuid::Uuid::new_v4().simple()));
    let url = TempSqlite::url_of(&dir.join("nested").join("meai.db"));
    let store = SqlStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    drop(store);
    assert!(dir.join("nested").join("meai.db").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn foreign_rows_are_not_found_even_with_a_matching_client_key() {
    let db = TempSqlite::new().await;
    let (alice, mallory) = (someone(&db, "alice").await, someone(&db, "mallory").await);
    let conversation = db.create_conversation(alice.id, None).await.unwrap();
    let keyed = NewMessage {
        kind: MessageKind::Human,
        content: "hi".into(),
        client_message_id: ClientMessageId::parse("k1"),
        usage: None,
        parent: Default::default(),
    };
    db.append_message(alice.id, conversation.id, &keyed).await.unwrap();
    let stolen = db.append_message(mallory.id, conversation.id, &keyed).await;
    assert!(matches!(stolen, Err(StoreError::NotFound)), "{stolen:?}");
}

#[tokio::test]
async fn existing_conversations_migrate_as_one_branch() {
    let db = TempSqlite::empty().await;
    common::flat_history_becomes_one_branch(&db).await;
}

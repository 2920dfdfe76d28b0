//! A conversation's tree is kept in memory with the `tree_version` it was read at. Two
//! instances on one database (two pools stand in for two processes), and writes made past the
//! server in SQL, show that the instance keeping the tree still sees every change: a message
//! appended, one deleted alone, one moved under another parent, one inserted by hand. And the
//! migration that adds the version goes down and up again. On SQLite and PostgreSQL.

mod common;

use chrono::Utc;
use meai_core::store::{ConversationStore, MessageStore, UserStore};
use meai_core::*;
use meai_migration::{Migrator, MigratorTrait};
use meai_sql::SqlStore;
use sea_orm::{ConnectionTrait, Statement};

/// (id, parent) of every message, and the active leaf, as `store` reads them.
async fn shape(store: &SqlStore, user: UserId, c: ConversationId) -> (Vec<(i64, Option<i64>)>, Option<i64>) {
    let tree = store.message_tree(user, c).await.expect("read the tree");
    let nodes = tree.nodes.iter().map(|n| (n.id.0, n.parent.map(|p| p.0))).collect();
    (nodes, tree.active_leaf.map(|l| l.0))
}

async fn say(store: &SqlStore, user: UserId, c: ConversationId, kind: MessageKind, text: &str) -> i64 {
    store
        .append_message(user, c, &NewMessage::new(kind, text))
        .await
        .expect("append message")
        .id
        .0
}

async fn sql(store: &SqlStore, text: String) {
    let db = store.connection();
    db.execute_raw(Statement::from_string(db.get_database_backend(), text))
        .await
        .expect("run SQL past the server");
}

async fn trees_follow_every_change(one: &SqlStore, other: &SqlStore) {
    let profile = NewUser {
        email: Email::parse("trees@example.com").unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    let user = one.upsert_user(&profile, Utc::now()).await.unwrap().id;
    let c = one.create_conversation(user, None).await.unwrap().id;
    assert_eq!(shape(one, user, c).await, (vec![], None), "kept while empty");

    let q = say(one, user, c, MessageKind::Human, "question").await;
    let a = say(other, user, c, MessageKind::Ai, "answer").await;
    assert_eq!(shape(one, user, c).await, (vec![(q, None), (a, Some(q))], Some(a)));
    assert_eq!(
        shape(one, user, c).await,
        (vec![(q, None), (a, Some(q))], Some(a)),
        "read again from memory"
    );

    other.delete_message(user, c, MessageId(a)).await.unwrap();
    assert_eq!(shape(one, user, c).await, (vec![(q, None)], Some(q)), "a delete alone");

    let b = say(other, user, c, MessageKind::Ai, "second answer").await;
    let follow_up = say(other, user, c, MessageKind::Human, "follow-up").await;
    assert_eq!(
        shape(one, user, c).await,
        (vec![(q, None), (b, Some(q)), (follow_up, Some(b))], Some(follow_up))
    );

    // Past the server: a message moved to another parent, and one inserted by hand.
    sql(
        other,
        format!("UPDATE messages SET parent_id = {q} WHERE id = {follow_up}"),
    )
    .await;
    assert_eq!(
        shape(one, user, c).await,
        (vec![(q, None), (b, Some(q)), (follow_up, Some(q))], Some(follow_up)),
        "an update in SQL"
    );
    sql(
        other,
        format!(
            "INSERT INTO messages (conversation_id, user_id, parent_id, type, content, created_at) \
             SELECT id, user_id, {b}, 'AI', 'by hand', created_at FROM conversations WHERE id = {}",
            c.0
        ),
    )
    .await;
    let (nodes, leaf) = shape(one, user, c).await;
    assert_eq!(nodes.len(), 4, "an insert in SQL: {nodes:?}");
    assert_eq!(nodes.last().map(|n| n.1), Some(Some(b)));
    assert_eq!(leaf, nodes.last().map(|n| n.0), "the trigger made it the leaf");

    // Someone else never gets the kept tree.
    let stranger = NewUser {
        email: Email::parse("stranger@example.com").unwrap(),
        ..profile
    };
    let stranger = one.upsert_user(&stranger, Utc::now()).await.unwrap().id;
    assert!(matches!(one.message_tree(stranger, c).await, Err(StoreError::NotFound)));

    other.delete_conversation(user, c).await.unwrap();
    assert!(matches!(one.message_tree(user, c).await, Err(StoreError::NotFound)));
}

async fn the_version_migrates_down_and_up(store: &SqlStore) {
    let steps = common::steps_down_to("m20261231_000001_tree_version");
    Migrator::down(store.connection(), Some(steps)).await.expect("down");
    Migrator::up(store.connection(), None).await.expect("up again");
    trees_follow_every_change(store, store).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_trees_follow_another_instances_writes() {
    let db = common::TempSqlite::new().await;
    let other = SqlStore::connect(&common::TempSqlite::url_of(db.path())).await.unwrap();
    trees_follow_every_change(&db, &other).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_tree_version_migrates_down_and_up() {
    let db = common::TempSqlite::new().await;
    the_version_migrates_down_and_up(&db).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_trees_follow_another_instances_writes() {
    let db = common::TempPostgres::new().await;
    let other = SqlStore::connect(&db.own_url()).await.unwrap();
    trees_follow_every_change(&db, &other).await;
    other.connection().clone().close().await.ok();
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_tree_version_migrates_down_and_up() {
    let db = common::TempPostgres::new().await;
    the_version_migrates_down_and_up(&db).await;
}

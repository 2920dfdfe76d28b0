//! A user's first page of conversations is kept in memory with the `conversations_version` it
//! was read at. Two instances on one database (two pools stand in for two processes), and SQL
//! typed past the server, show that the instance keeping the page still sees every change: a
//! conversation created, renamed, given a model or a summary, moved up by a message, deleted,
//! and rows changed or inserted by hand. With the update trigger dropped, a change is not seen
//! until the version moves: the page did come from memory. And the migration that adds the
//! version goes down and up again. On SQLite and PostgreSQL.

mod common;

use chrono::Utc;
use meai_core::store::{ConversationStore, MessageStore, UserStore};
use meai_core::*;
use meai_migration::{Migrator, MigratorTrait};
use meai_sql::SqlStore;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The first page the HTTP list asks for (100 and one more to see whether there are others).
const FIRST_PAGE: Page<ConversationId> = Page {
    limit: Some(101),
    before: None,
};

/// (title, model, summary) of each conversation of the user's first page, in list order.
async fn page(store: &SqlStore, user: UserId) -> Vec<(String, Option<String>, Option<String>)> {
    store
        .list_conversations(user, FIRST_PAGE)
        .await
        .expect("list conversations")
        .into_iter()
        .map(|c| {
            (
                c.title.map(|t| t.as_str().to_owned()).unwrap_or_default(),
                c.model,
                c.summary,
            )
        })
        .collect()
}

async fn titles(store: &SqlStore, user: UserId) -> Vec<String> {
    page(store, user).await.into_iter().map(|(t, _, _)| t).collect()
}

async fn create(store: &SqlStore, user: UserId, title: &str) -> ConversationId {
    let title = Title::parse(title).unwrap();
    store.create_conversation(user, Some(&title)).await.unwrap().id
}

async fn sql(store: &SqlStore, text: &str) {
    let db = store.connection();
    db.execute_raw(Statement::from_string(db.get_database_backend(), text))
        .await
        .expect("run SQL past the server");
}

async fn user(store: &SqlStore, email: &str) -> UserId {
    let profile = NewUser {
        email: Email::parse(email).unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    store.upsert_user(&profile, Utc::now()).await.unwrap().id
}

async fn lists_follow_every_change(one: &SqlStore, other: &SqlStore) {
    let user = user(one, "lists@example.com").await;
    assert!(titles(one, user).await.is_empty(), "kept while empty");

    let a = create(other, user, "alpha").await;
    assert_eq!(titles(one, user).await, ["alpha"], "a conversation created");
    let b = create(other, user, "beta").await;
    assert_eq!(titles(one, user).await, ["beta", "alpha"]);
    assert_eq!(titles(one, user).await, ["beta", "alpha"], "read again from memory");

    other
        .append_message(user, a, &NewMessage::new(MessageKind::Human, "hello"))
        .await
        .unwrap();
    assert_eq!(titles(one, user).await, ["alpha", "beta"], "a message moves it up");

    other
        .rename_conversation(user, b, &Title::parse("gamma").unwrap())
        .await
        .unwrap();
    assert_eq!(titles(one, user).await, ["gamma", "alpha"], "a rename");

    other.set_conversation_model(user, a, Some("fast-model")).await.unwrap();
    other.set_summary(user, a, "a short chat").await.unwrap();
    let listed = page(one, user).await;
    assert_eq!(listed[1].1.as_deref(), Some("fast-model"), "a model set");
    assert_eq!(listed[1].2.as_deref(), Some("a short chat"), "a summary set");

    // Past the server: a title changed and a conversation inserted by hand.
    sql(
        other,
        &format!("UPDATE conversations SET title = 'by hand' WHERE id = {}", a.0),
    )
    .await;
    assert_eq!(titles(one, user).await, ["gamma", "by hand"], "an update in SQL");
    sql(
        other,
        &format!(
            "INSERT INTO conversations (user_id, title, created_at, updated_at) \
             SELECT user_id, 'inserted', created_at, updated_at FROM conversations WHERE id = {}",
            a.0
        ),
    )
    .await;
    let mut listed = titles(one, user).await;
    listed.sort();
    assert_eq!(listed, ["by hand", "gamma", "inserted"], "an insert in SQL");

    // Someone else never gets the kept page.
    let stranger = self::user(one, "stranger@example.com").await;
    assert!(titles(one, stranger).await.is_empty());

    other.delete_conversation(user, b).await.unwrap();
    let mut listed = titles(one, user).await;
    listed.sort();
    assert_eq!(listed, ["by hand", "inserted"], "a conversation deleted");

    // Another page size is read for itself.
    let one_only = Page {
        limit: Some(1),
        before: None,
    };
    assert_eq!(one.list_conversations(user, one_only).await.unwrap().len(), 1);
    assert_eq!(titles(one, user).await.len(), 2);

    // Without the update trigger a rename typed in SQL leaves the version alone, and the page
    // kept is what `one` answers with until the version moves.
    let before = titles(one, user).await;
    let drop = match one.connection().get_database_backend() {
        DbBackend::Postgres => "DROP TRIGGER conversations_relisted ON conversations",
        _ => "DROP TRIGGER conversations_relisted",
    };
    sql(other, drop).await;
    sql(
        other,
        &format!("UPDATE conversations SET title = 'unseen' WHERE id = {}", a.0),
    )
    .await;
    assert_eq!(titles(one, user).await, before, "kept while the version stands");
    sql(
        other,
        &format!(
            "UPDATE users SET conversations_version = conversations_version + 1 WHERE id = {}",
            user.0
        ),
    )
    .await;
    assert!(
        titles(one, user).await.contains(&"unseen".to_owned()),
        "read again once it moved"
    );
}

async fn the_version_migrates_down_and_up(store: &SqlStore) {
    let user = user(store, "migrated@example.com").await;
    create(store, user, "kept").await;
    assert_eq!(titles(store, user).await, ["kept"]);
    let steps = common::steps_down_to("m20270101_000001_list_version");
    Migrator::down(store.connection(), Some(steps)).await.expect("down");
    Migrator::up(store.connection(), None).await.expect("up again");
    // The version starts again from 0: the page kept at 1 must not be taken for the one now.
    create(store, user, "after").await;
    let mut listed = titles(store, user).await;
    listed.sort();
    assert_eq!(listed, ["after", "kept"]);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_lists_follow_another_instances_writes() {
    let db = common::TempSqlite::new().await;
    let other = SqlStore::connect(&common::TempSqlite::url_of(db.path())).await.unwrap();
    lists_follow_every_change(&db, &other).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_list_version_migrates_down_and_up() {
    let db = common::TempSqlite::new().await;
    the_version_migrates_down_and_up(&db).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_lists_follow_another_instances_writes() {
    let db = common::TempPostgres::new().await;
    let other = SqlStore::connect(&db.own_url()).await.unwrap();
    lists_follow_every_change(&db, &other).await;
    other.connection().clone().close().await.ok();
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_list_version_migrates_down_and_up() {
    let db = common::TempPostgres::new().await;
    the_version_migrates_down_and_up(&db).await;
}

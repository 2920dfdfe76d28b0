//! Throwaway databases for the adapter's tests: each case gets its own, removed afterwards.
#![allow(dead_code)]

use meai_sql::SqlStore;
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A migrated SQLite database in a fresh temp file, deleted (with its WAL files) on drop.
pub struct TempSqlite {
    store: SqlStore,
    path: PathBuf,
}

impl TempSqlite {
    pub async fn new() -> Self {
        let db = Self::empty().await;
        db.store.migrate().await.expect("migrate temp SQLite");
        db
    }

    /// A fresh database without the schema.
    pub async fn empty() -> Self {
        let path = std::env::temp_dir().join(format!("meai-test-{}.db", uuid::Uuid::new_v4().simple()));
        let store = SqlStore::connect(&Self::url_of(&path)).await.expect("open temp SQLite");
        Self { store, path }
    }

    pub fn url_of(path: &Path) -> String {
        format!("sqlite://{}", path.display())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Deref for TempSqlite {
    type Target = SqlStore;

    fn deref(&self) -> &SqlStore {
        &self.store
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}

/// A migrated PostgreSQL database created for one case on the server `TEST_DATABASE_URL`
/// names, dropped on drop; the case fails when that variable is unset.
#[cfg(feature = "postgres")]
pub struct TempPostgres {
    store: SqlStore,
    admin_url: String,
    name: String,
}

#[cfg(feature = "postgres")]
impl TempPostgres {
    pub async fn new() -> Self {
        let db = Self::empty().await;
        db.store.migrate().await.expect("migrate test database");
        db
    }

    /// A fresh database without the schema.
    pub async fn empty() -> Self {
        let admin_url = meai_testkit::need::postgres_url();
        let name = format!("meai_test_{}", uuid::Uuid::new_v4().simple());
        let admin = SqlStore::connect(&admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        let create = format!("CREATE DATABASE {name}");
        sea_orm::ConnectionTrait::execute_unprepared(admin.connection(), &create)
            .await
            .expect("create test database");
        admin.connection().clone().close().await.ok();
        let store = SqlStore::connect(&with_database(&admin_url, &name))
            .await
            .expect("connect to test database");
        Self { store, admin_url, name }
    }

    /// The URL of this case's database.
    pub fn own_url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }
}

#[cfg(feature = "postgres")]
impl Deref for TempPostgres {
    type Target = SqlStore;

    fn deref(&self) -> &SqlStore {
        &self.store
    }
}

#[cfg(feature = "postgres")]
impl Drop for TempPostgres {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot block on async work: use a thread
        // with a runtime of its own. FORCE ends this store's still-pooled connections.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let admin = SqlStore::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                sea_orm::ConnectionTrait::execute_unprepared(
                    admin.connection(),
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await
                .expect("drop test database");
                admin.connection().clone().close().await.ok();
            })
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// `url` pointing at database `name` instead (keeps credentials, host and query).
#[cfg(feature = "postgres")]
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").expect("postgres URL has a scheme");
    let authority = rest.split_once('/').map_or(rest, |(authority, _)| authority);
    match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// On an empty database: the schema from before the message tree, conversations written then,
/// then the tree's migration: each conversation is one branch, its newest message the leaf.
pub async fn flat_history_becomes_one_branch(store: &SqlStore) {
    use meai_core::store::{MessageStore, UserStore};
    use meai_core::*;
    use meai_migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};

    let db = store.connection();
    let before_tree = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261225_000001_message_tree")
        .expect("the tree's migration");
    Migrator::up(db, Some(before_tree as u32))
        .await
        .expect("migrate to before the tree");
    let profile = NewUser {
        email: Email::parse("flat@example.com").unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    let user = store.upsert_user(&profile, chrono::Utc::now()).await.unwrap();
    let backend = db.get_database_backend();
    // Written the old way: the entities know columns this schema does not have yet.
    let (insert, new_conversation) = match backend {
        sea_orm::DbBackend::Postgres => (
            "INSERT INTO messages (conversation_id, user_id, type, content, created_at) VALUES ($1, $2, $3, $4, $5)",
            "INSERT INTO conversations (user_id, title, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        ),
        _ => (
            "INSERT INTO messages (conversation_id, user_id, type, content, created_at) VALUES (?, ?, ?, ?, ?)",
            "INSERT INTO conversations (user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id",
        ),
    };
    let mut convs = Vec::new();
    for (title, texts) in [
        ("one", vec!["q1", "a1", "q2", "a2"]),
        ("two", vec!["hello"]),
        ("empty", vec![]),
    ] {
        let now = chrono::Utc::now();
        let mut values: Vec<sea_orm::Value> = vec![user.id.0.into(), title.into(), now.into()];
        if backend != sea_orm::DbBackend::Postgres {
            values.push(now.into());
        }
        let row = db
            .query_one_raw(Statement::from_sql_and_values(backend, new_conversation, values))
            .await
            .expect("insert a conversation the old way")
            .expect("its id");
        let c = ConversationId(row.try_get_by_index::<i64>(0).unwrap());
        for (i, text) in texts.iter().enumerate() {
            let kind = if i % 2 == 0 { "Human" } else { "AI" };
            let values: [sea_orm::Value; 5] = [
                c.0.into(),
                user.id.0.into(),
                kind.into(),
                (*text).into(),
                chrono::Utc::now().into(),
            ];
            db.execute_raw(Statement::from_sql_and_values(backend, insert, values))
                .await
                .expect("insert a message the old way");
        }
        convs.push(c);
    }
    Migrator::up(db, None).await.expect("the tree's migration");
    let one = store.list_messages(user.id, convs[0], Page::all()).await.unwrap();
    let texts: Vec<&str> = one.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["q1", "a1", "q2", "a2"]);
    let parents: Vec<Option<MessageId>> = one.iter().map(|m| m.parent_id).collect();
    assert_eq!(parents, vec![None, Some(one[0].id), Some(one[1].id), Some(one[2].id)]);
    let tree = store.message_tree(user.id, convs[0]).await.unwrap();
    assert_eq!(tree.active_leaf, Some(one[3].id));
    let two = store.message_tree(user.id, convs[1]).await.unwrap();
    assert_eq!(two.nodes.len(), 1);
    assert_eq!(two.nodes[0].parent, None);
    assert_eq!(store.message_tree(user.id, convs[2]).await.unwrap().active_leaf, None);
    // And the next message continues the branch.
    let next = store
        .append_message(user.id, convs[0], &NewMessage::new(MessageKind::Human, "q3"))
        .await
        .unwrap();
    assert_eq!(next.parent_id, Some(one[3].id));
}

/// Steps `Migrator::down` takes to undo the migration `name` and every one after it (so a test
/// of one migration's way down stays right as migrations are added).
pub fn steps_down_to(name: &str) -> u32 {
    use meai_migration::MigratorTrait;
    let migrations = meai_migration::Migrator::migrations();
    let from_newest = migrations
        .iter()
        .rev()
        .position(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no migration {name}"));
    u32::try_from(from_newest + 1).expect("a few migrations")
}

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
        let path = std::env::temp_dir().join(format!("meai-test-{}.db", uuid::Uuid::new_v4().simple()));
        let store = SqlStore::connect(&Self::url_of(&path)).await.expect("open temp SQLite");
        store.migrate().await.expect("migrate temp SQLite");
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

//! What only the PostgreSQL backend must guarantee (on the server `TEST_DATABASE_URL` names).
#![cfg(feature = "postgres")]

mod common;

use common::TempPostgres;
use meai_core::Store;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

#[tokio::test]
async fn ids_are_64_bit() {
    let db = TempPostgres::new().await;
    assert_eq!(db.backend(), "postgres");
    let rows = db
        .connection()
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT table_name, column_name, data_type FROM information_schema.columns \
             WHERE table_schema = current_schema() AND (column_name = 'id' OR column_name LIKE '%\\_id') \
             AND table_name <> 'seaql_migrations'",
        ))
        .await
        .unwrap();
    let mut checked = 0;
    for row in rows {
        let (table, column, ty): (String, String, String) = (
            row.try_get_by_index(0).unwrap(),
            row.try_get_by_index(1).unwrap(),
            row.try_get_by_index(2).unwrap(),
        );
        // `call_id`: the model provider's id of a tool call.
        let textual = matches!(
            column.as_str(),
            "token_id" | "connected_account_id" | "auth_config_id" | "call_id"
        ) || column.ends_with("request_id")
            || column == "client_message_id";
        if !textual {
            assert_eq!(ty, "bigint", "{table}.{column}");
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} id columns found");
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let db = TempPostgres::new().await;
    db.migrate().await.expect("second run");
    db.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_may_migrate_at_once() {
    let db = TempPostgres::empty().await;
    let other = meai_sql::SqlStore::connect(&db.own_url()).await.unwrap();
    let (a, b) = tokio::join!(db.migrate(), other.migrate());
    a.expect("first instance");
    b.expect("second instance");
    other.connection().clone().close().await.ok();
}

#[tokio::test]
async fn existing_conversations_migrate_as_one_branch() {
    let db = TempPostgres::empty().await;
    common::flat_history_becomes_one_branch(&db).await;
}

//! Deleting an account leaves no row of the user in ANY table of the schema, on SQLite and
//! PostgreSQL, and leaves another user's rows as they were.
//!
//! The tables are read from the schema itself (every table with a `user_id` column, and
//! `users`), not from a list: a table added later is checked too. The fixture must give the
//! user a row in each of them, or the test fails naming the table (so a new table gets both
//! its fixture here and its delete in `adapters/sql/src/store/account.rs`).

mod common;

use meai_core::consent::{ActionCall, Allowed, NewAction, NewApproval, NewPolicyRule, PolicyScope, PolicySetting};
use meai_core::memory::{VectorIndex, VectorItem, VectorPoint};
use meai_core::store::*;
use meai_core::*;
use meai_sql::{SqlStore, SqlVectorIndex};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Every table with a `user_id` column.
async fn user_tables(store: &SqlStore) -> Vec<String> {
    let db = store.connection();
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT m.name AS t FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name = 'user_id' ORDER BY m.name"
        }
        _ => {
            "SELECT table_name AS t FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'user_id' ORDER BY table_name"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("list tables");
    rows.iter()
        .map(|r| r.try_get::<String>("", "t").expect("table name"))
        .collect()
}

async fn rows_of(store: &SqlStore, table: &str, column: &str, user: UserId) -> i64 {
    let db = store.connection();
    let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = {}", user.0);
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("count rows")
        .expect("a count");
    row.try_get::<i64>("", "n").expect("count")
}

/// A user with data in every table.
async fn populated(store: &SqlStore, index: &SqlVectorIndex, email: &str) -> User {
    let profile = NewUser {
        email: Email::parse(email).unwrap(),
        name: Some("Someone".into()),
        avatar_url: None,
        auth_method: AuthMethod::Google,
    };
    let user = store.upsert_user(&profile, chrono::Utc::now()).await.unwrap();
    let c = store.create_conversation(user.id, None).await.unwrap();
    let m = store
        .append_message(user.id, c.id, &NewMessage::new(MessageKind::Human, "my dog is Rex"))
        .await
        .unwrap();
    let source = MemorySource {
        message_id: m.id,
        conversation_id: c.id,
    };
    let memory = NewMemory {
        content: MemoryText::parse("The user's dog is Rex").unwrap(),
        origin: MemoryOrigin::Extracted,
        source: Some(source),
    };
    let facts = store.record_extraction(user.id, &[m.id], &[memory], 100).await.unwrap();
    store.set_memory_switch(user.id, true).await.unwrap();
    let connection = NewConnection {
        toolkit_slug: ToolkitSlug::parse("GMAIL").unwrap(),
        status: ConnectionStatus::Active,
        auth_config_id: Some("ac_1".into()),
        connection_request_id: Some("ca_1".into()),
        connected_account_id: Some("ca_1".into()),
    };
    store.put_connection(user.id, &connection).await.unwrap();
    let imported = ImportedConversation {
        title: None,
        summary: None,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        messages: vec![ImportedMessage {
            kind: MessageKind::Human,
            content: "from elsewhere".into(),
            created_at: chrono::Utc::now(),
            parent: Default::default(),
        }],
        active_leaf: None,
    };
    let key = ImportKey::parse(&format!("test:{email}")).unwrap();
    store.import_conversation(user.id, &key, &imported).await.unwrap();
    let gmail = ToolkitSlug::parse("GMAIL").unwrap();
    let rule = NewPolicyRule::new(PolicyScope::Toolkit(gmail), PolicySetting::Ask).unwrap();
    store.put_tool_policy(user.id, &rule).await.unwrap();
    let approval = NewApproval {
        message_id: Some(m.id),
        call_id: "call_1".into(),
        toolkit: "GMAIL".into(),
        tool: "GMAIL_SEND_EMAIL".into(),
        arguments: serde_json::json!({"to": "bob@example.com"}),
        summary: "Send an e-mail to bob@example.com".into(),
        expires_at: None,
    };
    store.create_approvals(user.id, c.id, &[approval]).await.unwrap();
    let call = ActionCall {
        conversation_id: Some(c.id),
        message_id: Some(m.id),
        approval_id: None,
        toolkit: "GMAIL".into(),
        tool: "GMAIL_FETCH_EMAILS".into(),
        arguments: serde_json::json!({"q": "from:bob"}),
    };
    store
        .record_action(
            user.id,
            &NewAction::ran(call, Allowed::Auto, Ok(serde_json::json!({"id": "m1"}))),
        )
        .await
        .unwrap();
    index
        .upsert(
            "t#2",
            &[
                VectorPoint {
                    item: VectorItem::Message {
                        id: m.id,
                        conversation: c.id,
                    },
                    user_id: user.id,
                    vector: vec![1.0, 0.0],
                },
                VectorPoint {
                    item: VectorItem::Memory { id: facts[0].id },
                    user_id: user.id,
                    vector: vec![1.0, 0.0],
                },
            ],
        )
        .await
        .unwrap();
    store.end_sessions(user.id, chrono::Utc::now()).await.unwrap();
    // An answer being written when the account goes.
    let other = store.create_conversation(user.id, None).await.unwrap();
    let draft = store.open_draft(user.id, other.id, 1).await.unwrap();
    store.save_draft(user.id, draft, "Half an ans").await.unwrap();
    let server = meai_core::mcp::NewMcpServer {
        name: "notes".into(),
        url: "https://notes.example.com/mcp".into(),
        sealed_token: Some("sealed".into()),
    };
    store.create_mcp_server(user.id, &server).await.unwrap();
    user
}

/// Tables whose rows of a deleted user stay, on purpose: the sessions cutoff keeps every token
/// the account had refused until it expires (the ids of a deleted user may be given again).
const KEPT: [&str; 1] = ["session_cutoffs"];

async fn deletes_every_row(store: &SqlStore) {
    let index = SqlVectorIndex::new(store);
    let gone = populated(store, &index, "gone@example.com").await;
    let kept = populated(store, &index, "kept@example.com").await;
    let tables = user_tables(store).await;
    assert!(tables.len() >= 9, "the schema's user tables: {tables:?}");
    let mut before = Vec::new();
    for table in &tables {
        let n = rows_of(store, table, "user_id", gone.id).await;
        assert!(
            n > 0,
            "table {table} has a user_id but the fixture gave the user no row in it: add one to `populated` \
             (and its delete to AccountStore::delete_account)"
        );
        before.push(rows_of(store, table, "user_id", kept.id).await);
    }

    let removed = store.delete_account(gone.id).await.expect("delete the account");
    for table in tables.iter().filter(|t| KEPT.contains(&t.as_str())) {
        assert!(
            rows_of(store, table, "user_id", gone.id).await > 0,
            "{table} keeps the deleted account's tokens refused"
        );
    }
    for table in tables.iter().filter(|t| !KEPT.contains(&t.as_str())) {
        assert_eq!(
            rows_of(store, table, "user_id", gone.id).await,
            0,
            "table {table} still has rows of the deleted user"
        );
    }
    assert_eq!(rows_of(store, "users", "id", gone.id).await, 0, "the user row");
    for (table, n) in tables.iter().zip(before) {
        assert_eq!(
            rows_of(store, table, "user_id", kept.id).await,
            n,
            "another user's {table}"
        );
    }
    assert_eq!(rows_of(store, "users", "id", kept.id).await, 1);
    let total = |what: &str| removed.iter().find(|r| r.what == what).map_or(0, |r| r.rows);
    assert_eq!(
        (
            total("conversations"),
            total("messages"),
            total("memories"),
            total("answer_drafts"),
            total("users")
        ),
        (3, 2, 1, 1, 1),
        "the answer says what went: {removed:?}"
    );
    assert!(matches!(store.get_user(gone.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_account(gone.id).await, Err(StoreError::NotFound)));
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn deletes_every_row_on_sqlite() {
    deletes_every_row(&*common::TempSqlite::new().await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn deletes_every_row_on_postgres() {
    deletes_every_row(&*common::TempPostgres::new().await).await;
}

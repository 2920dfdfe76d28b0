//! `DELETE /auth/me` end to end, against the fake Composio server and each vector index (local,
//! the Qdrant test server, Chroma): afterwards no row of the person remains (the store's own
//! test checks every table of the schema), no vector in the index, no connected account at
//! Composio; their tokens are refused; another person's data is untouched.

mod common;

use common::{TestApp, json, spawn_app_customized};
use meai_core::memory::{VectorIndex, VectorQuery, VectorScope, space_of};
use meai_core::model::Embedder;
use meai_core::store::*;
use meai_core::*;
use meai_testkit::composio::{API_KEY, FakeComposio};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

struct Setup {
    app: TestApp,
    fake: FakeComposio,
    index: Arc<dyn VectorIndex>,
    embedder: Arc<dyn Embedder>,
}

async fn setup(vars: &[(&str, &str)]) -> Setup {
    let fake = FakeComposio::start().await;
    fake.auth_config("ac_gmail", "gmail");
    let base = fake.base_url();
    let mut all = vec![
        ("COMPOSIO_API_KEY", API_KEY),
        ("COMPOSIO_BASE_URL", base.as_str()),
        ("GMAIL_AUTH_CONFIG_ID", "ac_gmail"),
    ];
    all.extend_from_slice(vars);
    let mut parts = None;
    let app = spawn_app_customized(&all, |a| {
        parts = Some((a.index.clone(), a.embedder.clone()));
        a
    })
    .await;
    let (index, embedder) = parts.expect("adapters");
    Setup {
        app,
        fake,
        index,
        embedder,
    }
}

/// A person with a conversation (indexed), a memory, and a Gmail account at Composio.
async fn person(s: &Setup, email: &str) -> (UserId, String, String) {
    let (user, token) = s.app.other_user(email).await;
    let store = &s.app.state.store;
    let c = store.create_conversation(user.id, None).await.unwrap();
    let m = store
        .append_message(
            user.id,
            c.id,
            &NewMessage::new(MessageKind::Human, "my parrot is called Kiwi"),
        )
        .await
        .unwrap();
    s.app.state.memory.index(&[m]).await.unwrap();
    s.app
        .state
        .memory
        .add_memory(user.id, "The user's parrot is called Kiwi", MemoryOrigin::Person, None)
        .await
        .unwrap();
    let account = s.fake.add_account(&user.id.0.to_string(), "gmail", "ACTIVE");
    let connection = NewConnection {
        toolkit_slug: ToolkitSlug::parse("GMAIL").unwrap(),
        status: ConnectionStatus::Active,
        auth_config_id: Some("ac_gmail".into()),
        connection_request_id: Some(account.clone()),
        connected_account_id: Some(account.clone()),
    };
    store.put_connection(user.id, &connection).await.unwrap();
    (user.id, token.expose().to_owned(), account)
}

impl Setup {
    /// How many of the user's points the index finds, messages and memories.
    async fn vectors(&self, user: UserId) -> usize {
        let vector = self
            .embedder
            .embed(&["parrot Kiwi".to_owned()])
            .await
            .unwrap()
            .remove(0);
        let space = space_of(self.embedder.model_id(), vector.len());
        let mut n = 0;
        for scope in [VectorScope::Messages, VectorScope::Memories] {
            let query = VectorQuery {
                user,
                scope,
                vector: &vector,
                k: 100,
            };
            n += self.index.search(&space, &query).await.unwrap().len();
        }
        n
    }

    fn delete_me(&self, token: &str, confirm: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .delete(self.app.url("/auth/me"))
            .bearer_auth(token)
            .json(&json!({ "confirm": confirm }))
    }
}

async fn deletes_everything(s: &Setup) {
    let (gone, token, account) = person(s, "gone@example.com").await;
    let (kept, kept_token, kept_account) = person(s, "kept@example.com").await;
    assert_eq!((s.vectors(gone).await, s.vectors(kept).await), (2, 2));

    let refused = s.delete_me(&token, "someone@example.com").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(json(refused).await["detail"].as_str().unwrap().contains("confirm"));
    assert!(
        s.app.state.store.get_user(gone).await.is_ok(),
        "nothing deleted without confirmation"
    );

    // Another session of the same person (a second tab, an API client): it ends too.
    let (_, other_session) = s.app.other_user("gone@example.com").await;
    let resp = s.delete_me(&token, "Gone@Example.com").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let body = json(resp).await;
    assert_eq!(body["removed"]["conversations"], 1, "{body}");
    assert_eq!(body["removed"]["messages"], 1);
    assert_eq!(body["removed"]["memories"], 1);
    assert_eq!(body["removed"]["toolkit_connections"], 1);
    assert_eq!(body["removed"]["users"], 1);
    assert_eq!(body["toolkit_accounts_deleted"], json!([account]));
    assert_eq!(body["vector_index"], s.index.kind());

    // Nothing of theirs is left: rows, vectors, connected accounts; their tokens are refused.
    assert!(matches!(
        s.app.state.store.get_user(gone).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        s.app
            .state
            .store
            .list_conversations(gone, Page::all())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.app.state.store.count_memories(gone).await.unwrap(), 0);
    assert_eq!(
        s.vectors(gone).await,
        0,
        "no vector of theirs in the {} index",
        s.index.kind()
    );
    let at_composio: Vec<String> = s.fake.accounts().into_iter().map(|a| a.id).collect();
    assert_eq!(at_composio, vec![kept_account.clone()]);
    for (path, token) in ["/auth/me", "/conversations", "/memories", "/export"]
        .into_iter()
        .flat_map(|p| [(p, token.as_str()), (p, other_session.expose())])
    {
        let r = reqwest::Client::new()
            .get(s.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{path} with a deleted account's token"
        );
    }
    let created = reqwest::Client::new()
        .post(s.app.url("/conversations"))
        .bearer_auth(&token)
        .json(&json!({"title": "ghost"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::UNAUTHORIZED);

    // The other person keeps everything.
    assert_eq!(s.vectors(kept).await, 2);
    assert_eq!(
        s.app
            .state
            .store
            .list_conversations(kept, Page::all())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.app.state.store.count_memories(kept).await.unwrap(), 1);
    let me = reqwest::Client::new()
        .get(s.app.url("/auth/me"))
        .bearer_auth(&kept_token)
        .send()
        .await
        .unwrap();
    assert_eq!(json(me).await["email"], "kept@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_on_the_local_index() {
    deletes_everything(&setup(&[]).await).await;
}

#[cfg(feature = "qdrant")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_on_the_qdrant_test_server() {
    let qdrant = meai_testkit::qdrant::FakeQdrant::start().await;
    let url = qdrant.url();
    let s = setup(&[("VECTOR_STORE", "qdrant"), ("QDRANT_URL", &url)]).await;
    deletes_everything(&s).await;
    // On the server itself: every collection, every kind.
    let gone = UserId(1);
    assert_eq!(
        qdrant.points_with("user_id", gone.0),
        0,
        "no point of the deleted user on the server"
    );
    assert_eq!(
        qdrant.points_with("user_id", 2),
        2,
        "the other user's message and memory"
    );
}

#[cfg(feature = "chroma")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_on_chroma() {
    let url = meai_testkit::need::chroma_url();
    let (host, port) = url.rsplit_once(':').expect("host:port");
    let s = setup(&[("VECTOR_STORE", "chroma"), ("CHROMA_HOST", host), ("CHROMA_PORT", port)]).await;
    let (gone, token, _) = person(&s, "gone@example.com").await;
    let collections = || async {
        let all: Vec<serde_json::Value> = reqwest::get(format!(
            "{url}/api/v2/tenants/default_tenant/databases/default_database/collections?limit=10000"
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let prefix = format!("meai-u{}-", gone.0);
        all.iter()
            .filter(|c| c["name"].as_str().unwrap().starts_with(&prefix))
            .count()
    };
    assert_eq!(collections().await, 2, "a messages and a memories collection");
    let resp = s.delete_me(&token, "gone@example.com").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        collections().await,
        0,
        "the user's collections are gone from the server"
    );
    assert_eq!(s.vectors(gone).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn composio_down_deletes_nothing() {
    let s = setup(&[]).await;
    let (gone, token, _) = person(&s, "gone@example.com").await;
    for _ in 0..4 {
        s.fake.inject(meai_testkit::composio::Fault::server_error(503));
    }
    let resp = s.delete_me(&token, "gone@example.com").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        json(resp).await["detail"]
            .as_str()
            .unwrap()
            .contains("Nothing was deleted")
    );
    assert!(s.app.state.store.get_user(gone).await.is_ok());
    assert_eq!(s.vectors(gone).await, 2);
    let me = reqwest::Client::new()
        .get(s.app.url("/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK, "still signed in: try again");
}

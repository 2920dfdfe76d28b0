//! The VectorIndex contract against Qdrant over gRPC: a fresh fake server per case
//! (`meai_testkit::qdrant`), or the real server at `TEST_QDRANT_URL` (the gRPC port, e.g.
//! `http://localhost:6334`, with `QDRANT_API_KEY` if it needs one). Then the adapter's error mapping,
//! on the fake.
#![cfg(feature = "qdrant")]

use meai_core::memory::{VectorError, VectorIndex, VectorItem, VectorPoint, VectorQuery, VectorScope};
use meai_core::{ConversationId, MemoryId, MessageId, UserId};
use meai_testkit::qdrant::FakeQdrant;
use meai_vector::QdrantIndex;
use std::ops::Deref;

/// The index under test, and the fake it talks to unless a real server was named.
struct Target {
    // Declared first so the client goes before the server it talks to.
    index: QdrantIndex,
    _fake: Option<FakeQdrant>,
}

impl Deref for Target {
    type Target = QdrantIndex;

    fn deref(&self) -> &QdrantIndex {
        &self.index
    }
}

async fn qdrant() -> Target {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(url) = env("TEST_QDRANT_URL") {
        let index = QdrantIndex::connect(&url, env("QDRANT_API_KEY"))
            .await
            .expect("TEST_QDRANT_URL reachable");
        return Target { index, _fake: None };
    }
    let fake = FakeQdrant::start().await;
    let index = QdrantIndex::connect(&fake.url(), None)
        .await
        .expect("fake Qdrant reachable");
    Target {
        index,
        _fake: Some(fake),
    }
}

meai_core::vector_index_contract_tests!(qdrant);

fn point(message: i64, vector: Vec<f32>) -> VectorPoint {
    VectorPoint {
        item: VectorItem::Message {
            id: MessageId(message),
            conversation: ConversationId(1),
        },
        user_id: UserId(1),
        vector,
    }
}

fn memory(user: i64, id: i64, vector: Vec<f32>) -> VectorPoint {
    VectorPoint {
        item: VectorItem::Memory { id: MemoryId(id) },
        user_id: UserId(user),
        vector,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memories_have_collections_of_their_own_and_go_with_their_user() {
    let fake = FakeQdrant::start().await;
    let index = QdrantIndex::connect(&fake.url(), None).await.expect("connect");
    index
        .upsert(
            "m#2",
            &[
                point(1, vec![1.0, 0.0]),
                memory(1, 1, vec![1.0, 0.0]),
                memory(2, 2, vec![1.0, 0.0]),
            ],
        )
        .await
        .expect("upsert");
    let tag = meai_vector::space_tag("m#2");
    assert_eq!(
        fake.collections(),
        vec![format!("meai_{tag}"), format!("meai_memories_{tag}")]
    );
    assert_eq!(fake.point_count(&format!("meai_{tag}")), Some(1), "message 1");
    assert_eq!(
        fake.point_count(&format!("meai_memories_{tag}")),
        Some(2),
        "memories 1 and 2, apart from message 1"
    );
    assert_eq!(fake.points_with("user_id", 1), 2);
    index.delete_user(UserId(1)).await.expect("delete user 1");
    assert_eq!(
        fake.points_with("user_id", 1),
        0,
        "no point of user 1 is left on the server"
    );
    assert_eq!(fake.points_with("user_id", 2), 1, "user 2's memory stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_a_cosine_collection_with_the_filter_indexes() {
    let fake = FakeQdrant::start().await;
    let index = QdrantIndex::connect(&fake.url(), None).await.expect("connect");
    index.upsert("m#2", &[point(1, vec![1.0, 0.0])]).await.expect("upsert");
    let name = format!("meai_{}", meai_vector::space_tag("m#2"));
    assert_eq!(fake.collections(), vec![name.clone()]);
    assert_eq!(fake.point_count(&name), Some(1));
    let indexes = fake.field_indexes(&name).expect("collection");
    assert_eq!(
        indexes.into_iter().collect::<Vec<_>>(),
        vec![
            ("conversation_id".to_owned(), qdrant_client::qdrant::FieldType::Integer),
            ("user_id".to_owned(), qdrant_client::qdrant::FieldType::Integer),
        ]
    );
    index.clear().await.expect("clear");
    assert!(fake.collections().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_is_a_backend_error() {
    let fake = FakeQdrant::start().await;
    let index = QdrantIndex::connect(&fake.url(), None).await.expect("connect");
    index.upsert("m#4", &[point(1, vec![1.0; 4])]).await.expect("upsert");
    // Same space, wrong size: the server refuses it (InvalidArgument).
    let refused = index.upsert("m#4", &[point(2, vec![1.0; 3])]).await;
    assert!(
        matches!(&refused, Err(VectorError::Backend(m)) if m.contains("dimension")),
        "{refused:?}"
    );
    let v = [1.0_f32; 3];
    let query = VectorQuery {
        user: UserId(1),
        scope: VectorScope::Messages,
        vector: &v,
        k: 5,
    };
    let refused = index.search("m#4", &query).await;
    assert!(matches!(refused, Err(VectorError::Backend(_))), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_only_with_the_api_key() {
    let fake = FakeQdrant::start_with_api_key("sesame").await;
    let wrong = QdrantIndex::connect(&fake.url(), Some("open".into())).await;
    assert!(matches!(&wrong, Err(VectorError::Backend(m)) if m.contains("Invalid API key")));
    let missing = QdrantIndex::connect(&fake.url(), None).await;
    assert!(matches!(missing, Err(VectorError::Backend(_))), "{missing:?}");
    let index = QdrantIndex::connect(&fake.url(), Some("sesame".into()))
        .await
        .expect("the right key");
    index.upsert("m#2", &[point(1, vec![1.0, 0.0])]).await.expect("upsert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable() {
    // A port nothing listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let down = QdrantIndex::connect(&format!("http://127.0.0.1:{port}"), None).await;
    assert!(matches!(down, Err(VectorError::Unavailable(_))), "{down:?}");
}

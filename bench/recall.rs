//! Recall benchmark (issue 5): 100k stored message vectors across 10 users (1,000
//! conversations), top-10 recall for one user, p50/p99, and indexing throughput.
//!
//!     cargo run --release --example recall_bench [--features postgres,chroma]
//!
//! Environment: `BENCH_DIMS` (default 768), `BENCH_POINTS` (default 100000),
//! `TEST_DATABASE_URL` (PostgreSQL run), `BENCH_CHROMA_URL` (Chroma run).
//! Vectors are random (the embedder is not measured: it is the provider's latency).

use meai_core::memory::{VectorIndex, VectorItem, VectorPoint, VectorQuery, VectorScope};
use meai_core::{ConversationId, MessageId, UserId};
use std::time::{Duration, Instant};

const USERS: i64 = 10;
const CONVERSATIONS: i64 = 1_000;
const QUERIES: usize = 500;
const SPACE: &str = "bench/random#768";

/// xorshift: reproducible vectors without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    fn vector(&mut self, dims: usize) -> Vec<f32> {
        (0..dims).map(|_| self.next()).collect()
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

async fn run(name: &str, index: &dyn VectorIndex, points: usize, dims: usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let batch = 500;
    let mut id = 0i64;
    while (id as usize) < points {
        let chunk: Vec<VectorPoint> = (0..batch.min(points - id as usize))
            .map(|_| {
                id += 1;
                let conversation = id % CONVERSATIONS;
                VectorPoint {
                    item: VectorItem::Message {
                        id: MessageId(id),
                        conversation: ConversationId(conversation),
                    },
                    user_id: UserId(conversation % USERS),
                    vector: rng.vector(dims),
                }
            })
            .collect();
        index.upsert(SPACE, &chunk).await.expect("upsert");
    }
    let took = started.elapsed();
    println!(
        "{name}: indexed {points} vectors ({dims} dims) in {:.1} s = {:.0} vectors/s",
        took.as_secs_f64(),
        points as f64 / took.as_secs_f64()
    );
    for (label, scope) in [
        ("user (10k vectors)", VectorScope::Messages),
        (
            "conversation (100 vectors)",
            VectorScope::Conversation(ConversationId(10)),
        ),
    ] {
        let user = UserId(0);
        let q = rng.vector(dims);
        let cold = Instant::now();
        index
            .search(
                SPACE,
                &VectorQuery {
                    user,
                    scope,
                    vector: &q,
                    k: 10,
                },
            )
            .await
            .expect("search");
        let cold = cold.elapsed();
        let mut times = Vec::with_capacity(QUERIES);
        for _ in 0..QUERIES {
            let q = rng.vector(dims);
            let t = Instant::now();
            let hits = index
                .search(
                    SPACE,
                    &VectorQuery {
                        user,
                        scope,
                        vector: &q,
                        k: 10,
                    },
                )
                .await
                .expect("search");
            times.push(t.elapsed());
            assert_eq!(hits.len(), 10);
        }
        times.sort();
        println!(
            "{name}: recall top-10 filtered by {label}: p50 {:.2} ms, p99 {:.2} ms (first, cold: {:.1} ms)",
            pct(&times, 0.5),
            pct(&times, 0.99),
            cold.as_secs_f64() * 1000.0
        );
    }
}

#[tokio::main]
async fn main() {
    let dims: usize = std::env::var("BENCH_DIMS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(768);
    let points: usize = std::env::var("BENCH_POINTS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("meai-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = meai_sql::SqlStore::connect(&format!("sqlite://{}", dir.join("bench.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    run("local/sqlite", &meai_sql::SqlVectorIndex::new(&store), points, dims).await;
    std::fs::remove_dir_all(&dir).ok();

    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        let store = meai_sql::SqlStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let index = meai_sql::SqlVectorIndex::new(&store);
        index.clear().await.unwrap();
        run("local/postgres", &index, points, dims).await;
        index.clear().await.unwrap();
    }

    #[cfg(feature = "chroma")]
    if let Ok(url) = std::env::var("BENCH_CHROMA_URL") {
        let index = meai_vector::ChromaIndex::connect(&url, "default_tenant", "meai_bench")
            .await
            .unwrap();
        index.clear().await.unwrap();
        run("chroma", &index, points, dims).await;
        index.clear().await.unwrap();
    }
}

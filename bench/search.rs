//! Keyword search benchmark (issue 14): 100k messages (10 users x 10 conversations x 1,000
//! messages of ~12 words), the keyword half of `/conversations/search`
//! (`MessageSource::messages_matching`, 60 candidates) for one user, p50/p99.
//!
//!     cargo run --release --example search_bench [--features postgres]
//!
//! Environment: `BENCH_MESSAGES` (default 100000); `TEST_DATABASE_URL` (also a PostgreSQL run, in
//! a database of its own that is dropped afterwards).

use meai_core::memory::MessageSource;
use meai_core::*;
use std::time::{Duration, Instant};

const USERS: usize = 10;
const CONVERSATIONS_PER_USER: usize = 10;
const QUERIES: usize = 300;
const VOCABULARY: usize = 5_000;

/// xorshift: reproducible text without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Zipf-like: common words often, rare words rarely, as in real text.
    fn word(&mut self) -> String {
        let r = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        let rank = ((VOCABULARY as f64).powf(r)) as usize;
        word(rank)
    }
}

fn word(rank: usize) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fi", "go", "hu", "je", "pa", "ze",
    ];
    let mut n = rank + 16;
    let mut w = String::new();
    while n > 0 {
        w.push_str(SYLLABLES[n % 16]);
        n /= 16;
    }
    w
}

/// The query terms of the `q`-th query.
type Terms = dyn Fn(usize, &mut Rng) -> Vec<String>;

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

async fn run<S: Store + MessageSource>(name: &str, store: &S, messages: usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let per_conversation = messages / (USERS * CONVERSATIONS_PER_USER);
    let mut users = Vec::new();
    for u in 0..USERS {
        let profile = NewUser {
            email: Email::parse(&format!("bench{u}@example.com")).unwrap(),
            name: None,
            avatar_url: None,
            auth_method: AuthMethod::Google,
        };
        let user = store.upsert_user(&profile, chrono::Utc::now()).await.unwrap().id;
        users.push(user);
        for _ in 0..CONVERSATIONS_PER_USER {
            let c = store.create_conversation(user, None).await.unwrap().id;
            for i in 0..per_conversation {
                let text: Vec<String> = (0..12).map(|_| rng.word()).collect();
                let kind = if i % 2 == 0 {
                    MessageKind::Human
                } else {
                    MessageKind::Ai
                };
                store
                    .append_message(user, c, &NewMessage::new(kind, text.join(" ")))
                    .await
                    .unwrap();
            }
        }
    }
    println!(
        "{name}: stored {} messages in {:.1} s",
        per_conversation * USERS * CONVERSATIONS_PER_USER,
        started.elapsed().as_secs_f64()
    );
    let common = |q: usize, rng: &mut Rng| vec![word(q % 50), rng.word()];
    let rare = |q: usize, _: &mut Rng| vec![word(2_000 + q * 7919 % 3_000), word(2_000 + q * 104_729 % 3_000)];
    let absent = |q: usize, _: &mut Rng| vec![format!("zzq{q}")];
    let cases: [(&str, &Terms); 3] = [
        ("a common word and a random one", &common),
        ("two rare words", &rare),
        ("a word no message has", &absent),
    ];
    for (label, terms_of) in cases {
        let mut times = Vec::with_capacity(QUERIES);
        let mut found = 0;
        for q in 0..QUERIES {
            let terms = terms_of(q, &mut rng);
            let t = Instant::now();
            found += store
                .messages_matching(users[q % USERS], &terms, 60)
                .await
                .unwrap()
                .len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "{name}: keyword search for {label}: p50 {:.2} ms, p99 {:.2} ms ({:.1} hits per query)",
            pct(&times, 0.5),
            pct(&times, 0.99),
            found as f64 / QUERIES as f64
        );
    }
}

#[tokio::main]
async fn main() {
    let messages: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("meai-search-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = meai_sql::SqlStore::connect(&format!("sqlite://{}", dir.join("bench.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    run("sqlite", &store, messages).await;
    std::fs::remove_dir_all(&dir).ok();

    if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
        let name = format!("meai_search_bench_{}", std::process::id());
        let admin_store = meai_sql::SqlStore::connect(&admin).await.unwrap();
        let exec = |sql: String| {
            let c = admin_store.connection().clone();
            async move { sea_orm::ConnectionTrait::execute_unprepared(&c, &sql).await.unwrap() }
        };
        exec(format!("CREATE DATABASE {name}")).await;
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("TEST_DATABASE_URL names a database"),
        };
        let store = meai_sql::SqlStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        run("postgres", &store, messages).await;
        store.connection().clone().close().await.ok();
        exec(format!("DROP DATABASE {name} WITH (FORCE)")).await;
    }
}

//! Two real instances (`meai serve` child processes on two ports) sharing a fresh PostgreSQL
//! database and Redis, driven by the npm socket.io-client (tests/node/multi.mjs): a client may
//! move between instances, `stop` crosses them, a tab on one sees an answer streamed by the
//! other, and a killed instance leaves its question and partial answer stored (once, marked)
//! and every listener with an end. A killed instance restarted (or a single SQLite instance
//! killed and restarted) has its cut answers stored before it serves, and takes new messages
//! in those conversations at once.
//!
//! Needs `TEST_DATABASE_URL` (a role that may create databases), `TEST_REDIS_URL`, `psql` and
//! `npm ci` in tests/node; without them every test fails, naming what is missing. Each test
//! creates its own database and Redis key prefix and drops both afterwards.
#![cfg(all(feature = "postgres", feature = "redis"))]

mod common;

use common::node::{named, node_dir, text_of};
use meai_core::turn::{LOST_MARK, STOPPED_MARK};
use meai_runs::redis::INSTANCE_LOST;
use meai_testkit::composio::{self, FakeComposio};
use meai_testkit::openai::{FakeOpenAi, Reply};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET_KEY: &str = "multi-instance-test-secret-key";

/// The shared services of one test: a fresh database and a Redis key prefix, both removed on
/// drop (or, for a single instance, a SQLite file in the test's directory).
struct Shared {
    /// The admin URL and the name of the test's PostgreSQL database.
    postgres: Option<(String, String)>,
    db_url: String,
    redis_url: Option<String>,
    prefix: String,
    dir: tempfile::TempDir,
}

impl Shared {
    /// One self-hosted instance: a SQLite file, no Redis.
    fn single() -> Self {
        meai_testkit::need::node_package(&node_dir(), "socket.io-client");
        let dir = tempfile::tempdir().unwrap();
        Self {
            postgres: None,
            db_url: format!("sqlite://{}", dir.path().join("meai.db").display()),
            redis_url: None,
            prefix: String::new(),
            dir,
        }
    }

    fn new() -> Self {
        let admin_url = meai_testkit::need::postgres_url();
        let redis_url = meai_testkit::need::redis_url();
        meai_testkit::need::node_package(&node_dir(), "socket.io-client");
        assert!(
            Command::new("psql").arg("--version").output().is_ok(),
            "this test needs psql: install PostgreSQL's client (postgresql-client)"
        );
        let id = uuid_like();
        let db_name = format!("meai_multi_{id}");
        psql(&admin_url, &format!("CREATE DATABASE {db_name}"));
        let mut db_url = reqwest::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        db_url.set_path(&format!("/{db_name}"));
        Self {
            postgres: Some((admin_url, db_name)),
            db_url: db_url.to_string(),
            redis_url: Some(redis_url),
            prefix: format!("meai-multi-{id}"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts an instance and waits until it answers `/health`.
    async fn start(&self, name: &str, fake: &FakeOpenAi) -> Instance {
        self.start_with(name, fake, &[]).await
    }

    /// [`Shared::start`] with more settings.
    async fn start_with(&self, name: &str, fake: &FakeOpenAi, extra: &[(&str, String)]) -> Instance {
        let port = free_port();
        let log_path = self.dir.path().join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_meai"));
        command
            .arg("serve")
            // A clean environment (and a directory without `.env`): only what the test sets.
            .env_clear()
            .current_dir(self.dir.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("DATABASE_URL", &self.db_url);
        if let Some(redis) = &self.redis_url {
            command.env("REDIS_URL", redis).env("REDIS_KEY_PREFIX", &self.prefix);
        }
        let child = command
            .env("SECRET_KEY", SECRET_KEY)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("MODEL", "openai")
            .env("OPENAI_API_KEY", "sk-test")
            .env("OPENAI_BASE_URL", fake.base_url())
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the meai binary starts");
        let instance = Instance {
            name: name.to_owned(),
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/health", instance.base)).await
                && r.status().is_success()
            {
                return instance;
            }
            assert!(
                Instant::now() < deadline,
                "instance {name} did not start:\n{}",
                instance.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Instances are dropped (killed) before this: the test's locals drop in reverse order.
        if let Some((admin_url, db_name)) = &self.postgres {
            psql(admin_url, &format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"));
        }
        let Some(redis_url) = &self.redis_url else { return };
        // Only this test's keys; most would expire on their own.
        let keys = Command::new("redis-cli")
            .args(["-u", redis_url, "--scan", "--pattern"])
            .arg(format!("{}:*", self.prefix))
            .output();
        if let Ok(out) = keys {
            let keys: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned)
                .collect();
            if !keys.is_empty() {
                let _ = Command::new("redis-cli")
                    .args(["-u", redis_url, "DEL"])
                    .args(&keys)
                    .output();
            }
        }
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Lower-case and digits: fits a database name and a key prefix.
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{nanos:x}", std::process::id())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `meai serve` process; killed on drop.
struct Instance {
    name: String,
    child: Child,
    base: String,
    log: PathBuf,
}

impl Instance {
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "--- {} log ---\n{}",
            self.name,
            lines[lines.len().saturating_sub(40)..].join("\n")
        )
    }

    /// SIGKILL: no graceful shutdown, no end of the run, no lease renewal.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The local user's session (local mode), valid on every instance (same `SECRET_KEY` and
/// database), and a new conversation.
async fn session_and_conversation(a: &Instance) -> (String, i64) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(format!("{}/auth/google", a.base)).send().await.unwrap();
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|kv| kv.contains('=')))
        .expect("a session cookie")
        .to_owned();
    let conv: Value = http
        .post(format!("{}/conversations/", a.base))
        .header("cookie", &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (cookie, conv["conversation_id"].as_i64().expect("a conversation id"))
}

/// The stored messages as (type, content), read through `at`.
async fn stored(at: &Instance, cookie: &str, conv: i64) -> Vec<(String, String)> {
    let body: Value = reqwest::Client::new()
        .get(format!("{}/conversations/{conv}/messages", at.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["messages"]
        .as_array()
        .expect("a message list")
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Polls until `pred` holds for the stored messages (the end event may overtake the write).
async fn stored_when(
    at: &Instance,
    cookie: &str,
    conv: i64,
    pred: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let msgs = stored(at, cookie, conv).await;
        if pred(&msgs) || Instant::now() > deadline {
            return msgs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A running node client (tests/node/multi.mjs); its lines are collected as they come.
struct Client {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
    reader: std::thread::JoinHandle<()>,
}

fn client(instances: &[&Instance], plan: Value) -> Client {
    let map: serde_json::Map<String, Value> = instances
        .iter()
        .map(|i| (i.name.clone(), Value::String(i.base.clone())))
        .collect();
    let mut child = Command::new("node")
        .arg(node_dir().join("multi.mjs"))
        .arg(Value::Object(map).to_string())
        .arg(plan.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().unwrap();
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock()
                .unwrap()
                .push(serde_json::from_str(&line).expect("JSON line"));
        }
    });
    Client { child, lines, reader }
}

impl Client {
    /// Waits until the client received `event` (e.g. it joined), at most 20 s.
    async fn saw(&self, event: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.lines.lock().unwrap().iter().any(|l| l["event"] == event) {
            assert!(
                Instant::now() < deadline,
                "the client never got {event}: {:?}",
                self.lines
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the plan to end; every line, after checking the client succeeded.
    async fn finish(self, instances: &[&Instance]) -> Vec<Value> {
        let Client {
            mut child,
            lines,
            reader,
        } = self;
        let status = tokio::task::spawn_blocking(move || {
            let status = child.wait().unwrap();
            reader.join().unwrap();
            status
        })
        .await
        .unwrap();
        let lines = lines.lock().unwrap().clone();
        assert!(
            status.success(),
            "client failed:\n{}\n{}",
            lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"),
            instances.iter().map(|i| i.log_tail()).collect::<Vec<_>>().join("\n")
        );
        lines
    }
}

async fn run(instances: &[&Instance], plan: Value) -> Vec<Value> {
    client(instances, plan).finish(instances).await
}

fn words(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("w{i} ")).collect()
}

fn connect_and_join(at: &str, cookie: &str, conv: i64, nth: u32) -> Vec<Value> {
    vec![
        json!({"connect": {"at": at, "cookie": cookie}}),
        json!({"wait": "connect", "count": nth}),
        json!({"emit": "join_conversation", "data": {"conversation_id": conv}}),
        json!({"wait": "joined", "count": nth}),
    ]
}

fn plan(steps: impl IntoIterator<Item = Vec<Value>>) -> Value {
    Value::Array(steps.into_iter().flatten().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_instance_a_rejoins_on_b_and_gets_the_missed_and_live_events() {
    let shared = Shared::new();
    let fake = FakeOpenAi::start().await;
    let answer = words(12);
    fake.push(Reply::chunks(answer.clone()).with_chunk_delay(Duration::from_millis(150)));
    let a = shared.start("a", &fake).await;
    let b = shared.start("b", &fake).await;
    let (cookie, conv) = session_and_conversation(&a).await;

    let lines = run(
        &[&a, &b],
        plan([
            connect_and_join("a", &cookie, conv, 1),
            vec![
                json!({"emit": "message", "data": {"content": "Count", "conversation_id": conv}}),
                json!({"wait": "assistant", "count": 2}),
                json!({"disconnect": true}),
                json!({"sleep": 300}),
            ],
            connect_and_join("b", &cookie, conv, 2),
            vec![json!({"wait": "last_chunk", "timeout_ms": 20000})],
        ]),
    )
    .await;

    assert!(
        text_of(&lines, 1).len() < answer.concat().len(),
        "the first connection left early"
    );
    assert_eq!(
        text_of(&lines, 2),
        answer.concat(),
        "missed then live, on the other instance"
    );
    let seqs: Vec<u64> = named(&lines, "assistant")
        .iter()
        .filter(|l| l["conn"] == 2)
        .map(|l| l["data"]["seq"].as_u64().unwrap())
        .collect();
    // Seq 1 is the run's `human` event (the question, for the conversation's other tabs).
    assert_eq!(seqs, (2..=13).collect::<Vec<_>>());
    assert!(named(&lines, "error").is_empty(), "{lines:?}");
    let msgs = stored_when(&b, &cookie, conv, |m| m.len() >= 2).await;
    assert_eq!(
        msgs[..2],
        [("Human".into(), "Count".into()), ("AI".into(), answer.concat())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sent_to_b_cancels_the_run_on_a() {
    let shared = Shared::new();
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(words(100)).with_chunk_delay(Duration::from_millis(100)));
    let a = shared.start("a", &fake).await;
    let b = shared.start("b", &fake).await;
    let (cookie, conv) = session_and_conversation(&a).await;

    let lines = run(
        &[&a, &b],
        plan([
            connect_and_join("a", &cookie, conv, 1),
            vec![
                json!({"emit": "message", "data": {"content": "Long story", "conversation_id": conv}}),
                json!({"wait": "assistant", "count": 2}),
                json!({"disconnect": true}),
            ],
            connect_and_join("b", &cookie, conv, 2),
            vec![
                // B follows the run (it replayed what A's connection had seen), then stops it.
                json!({"wait": "assistant", "count": 4}),
                json!({"emit": "stop", "data": {"conversation_id": conv}}),
                json!({"wait": "last_chunk", "timeout_ms": 20000}),
            ],
        ]),
    )
    .await;

    let last = named(&lines, "last_chunk");
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["data"]["stopped"], true, "{lines:?}");
    assert!(
        fake.wait_for_disconnects(1, Duration::from_secs(10)).await,
        "A dropped the upstream request"
    );
    assert_eq!(fake.completed_streams(), 0);
    let msgs = stored_when(&b, &cookie, conv, |m| m.len() >= 2).await;
    assert_eq!(msgs[0], ("Human".into(), "Long story".into()));
    assert_eq!(msgs[1].0, "AI");
    let partial = msgs[1].1.strip_suffix(STOPPED_MARK).expect("marked as stopped");
    assert_eq!(partial, text_of(&lines, 2), "B saw what A kept");
    assert!(partial.len() < words(100).concat().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_joined_on_b_before_the_message_sees_the_answer_streamed_from_a() {
    let shared = Shared::new();
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(["one ", "two ", "three"]).with_chunk_delay(Duration::from_millis(100)));
    let a = shared.start("a", &fake).await;
    let b = shared.start("b", &fake).await;
    let (cookie, conv) = session_and_conversation(&a).await;

    let tab = client(
        &[&a, &b],
        plan([
            connect_and_join("b", &cookie, conv, 1),
            vec![json!({"wait": "last_chunk", "timeout_ms": 20000})],
        ]),
    );
    tab.saw("joined").await; // joined B's room before any run exists
    let sender = run(
        &[&a, &b],
        plan([
            connect_and_join("a", &cookie, conv, 1),
            vec![
                json!({"emit": "message", "data": {"content": "Count to three", "conversation_id": conv}}),
                json!({"wait": "last_chunk"}),
            ],
        ]),
    )
    .await;
    let watched = tab.finish(&[&a, &b]).await;

    assert_eq!(text_of(&sender, 1), "one two three");
    assert_eq!(text_of(&watched, 1), "one two three", "{watched:?}");
    assert_eq!(named(&watched, "last_chunk").len(), 1);
    assert!(named(&watched, "error").is_empty(), "{watched:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_mid_answer_keeps_the_question_and_partial_answer_and_ends_the_turn_on_b() {
    let shared = Shared::new();
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(words(200)).with_chunk_delay(Duration::from_millis(150)));
    let mut a = shared.start("a", &fake).await;
    let b = shared.start("b", &fake).await;
    let (cookie, conv) = session_and_conversation(&a).await;

    // Two tabs on B (two listeners that could each close the dead run: it is closed, and its
    // partial answer stored, once).
    let watch = || {
        plan([
            connect_and_join("b", &cookie, conv, 1),
            vec![json!({"wait": "last_chunk", "timeout_ms": 60000})],
        ])
    };
    let tabs = [client(&[&a, &b], watch()), client(&[&a, &b], watch())];
    for tab in &tabs {
        tab.saw("joined").await;
    }
    run(
        &[&a, &b],
        plan([
            connect_and_join("a", &cookie, conv, 1),
            vec![
                json!({"emit": "message", "data": {"content": "Tell a long story", "conversation_id": conv}}),
                json!({"wait": "assistant", "count": 3}),
            ],
        ]),
    )
    .await;
    a.kill();
    let [first, second] = tabs;
    let first = first.finish(&[&b]).await;
    let second = second.finish(&[&b]).await;

    for lines in [&first, &second] {
        let ends: Vec<&str> = lines
            .iter()
            .map(|l| l["event"].as_str().unwrap())
            .filter(|e| ["error", "last_chunk"].contains(e))
            .collect();
        assert_eq!(ends, ["error", "last_chunk"], "{lines:?}");
        assert_eq!(named(lines, "error")[0]["data"]["error"], INSTANCE_LOST);
    }
    let partial = text_of(&first, 1);
    assert!(partial.starts_with("w0 w1 w2 "), "{partial}");
    assert_eq!(text_of(&second, 1), partial);
    let msgs = stored_when(&b, &cookie, conv, |m| m.len() >= 2).await;
    assert_eq!(
        msgs,
        [
            ("Human".into(), "Tell a long story".into()),
            ("AI".into(), format!("{partial}{LOST_MARK}"))
        ],
        "{}",
        b.log_tail()
    );
    // Stored once, and the conversation is free again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stored(&b, &cookie, conv).await.len(), 2);
    fake.push(Reply::text("Back."));
    let again = run(
        &[&b],
        plan([
            connect_and_join("b", &cookie, conv, 1),
            vec![
                json!({"emit": "message", "data": {"content": "Still there?", "conversation_id": conv}}),
                json!({"wait": "last_chunk"}),
            ],
        ]),
    )
    .await;
    assert_eq!(text_of(&again, 1), "Back.");
}

/// POSTs `body` to `path` on `at` with the session; the status and the SSE frames.
async fn post_sse(at: &Instance, cookie: &str, path: &str, body: Value) -> (u16, Vec<(String, Value)>) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", at.base))
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, common::sse_frames(&resp.text().await.unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_asked_on_a_is_decided_on_b_and_applied_once_when_both_are_asked() {
    let shared = Shared::new();
    let fake = FakeOpenAi::start().await;
    let composio = FakeComposio::start().await;
    composio.auth_config("ac_gmail", "gmail");
    composio.set_tool_result("GMAIL_SEND_EMAIL", json!({"id": "msg_from_b", "threadId": "t"}));
    let toolkits = [
        ("COMPOSIO_API_KEY", composio::API_KEY.to_owned()),
        ("COMPOSIO_BASE_URL", composio.base_url()),
        ("GMAIL_AUTH_CONFIG_ID", "ac_gmail".to_owned()),
    ];
    let a = shared.start_with("a", &fake, &toolkits).await;
    let b = shared.start_with("b", &fake, &toolkits).await;
    let (cookie, conv) = session_and_conversation(&a).await;
    let rest = |at: &Instance, method: reqwest::Method, path: String, body: Value| {
        let request = reqwest::Client::new()
            .request(method, format!("{}{path}", at.base))
            .header("cookie", &cookie)
            .json(&body);
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap_or(Value::Null)
        }
    };
    use reqwest::Method;
    // Titled (no background title request takes a scripted answer), Gmail connected.
    rest(
        &a,
        Method::PATCH,
        format!("/conversations/{conv}"),
        json!({"title": "Mail"}),
    )
    .await;
    let connect = rest(&a, Method::POST, "/toolkits/connect/gmail".into(), json!({})).await;
    let request = connect["connection_request_id"].as_str().unwrap();
    composio.set_status(request, "ACTIVE", None);
    rest(
        &a,
        Method::POST,
        format!("/toolkits/connections/sync/{request}"),
        json!({}),
    )
    .await;

    let ask_on_a = || async {
        fake.push(Reply::tool_call(
            "GMAIL_SEND_EMAIL",
            json!({"recipient_email": "bob@example.com", "body": "Lunch?"}),
        ));
        let path = format!("/conversations/{conv}/messages");
        let (status, frames) = post_sse(&a, &cookie, &path, json!({"content": "Email Bob"})).await;
        assert_eq!(status, 200);
        let id = frames
            .iter()
            .find(|(e, _)| e == "tool_approval")
            .map(|(_, d)| d["approval_id"].clone())
            .unwrap_or_else(|| panic!("a tool_approval event: {frames:?}"));
        format!("/conversations/{conv}/approvals/{id}")
    };
    let answer = |frames: &[(String, Value)]| -> String {
        frames
            .iter()
            .filter(|(e, _)| e == "assistant")
            .map(|(_, d)| d["content"].as_str().unwrap())
            .collect()
    };
    let approve = json!({"decision": "approve"});

    // Asked on A, decided on B: nothing waited in A's memory.
    let decision = ask_on_a().await;
    fake.push(Reply::text("Sent."));
    let (status, frames) = post_sse(&b, &cookie, &decision, approve.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(answer(&frames), "Sent.", "{frames:?}\n{}", b.log_tail());
    assert_eq!(composio.count("POST", "/tools/execute/GMAIL_SEND_EMAIL"), 1);

    // Both instances asked at once (two tabs): exactly one runs it.
    let decision = ask_on_a().await;
    fake.push(Reply::text("Sent again."));
    let (on_a, on_b) = tokio::join!(
        post_sse(&a, &cookie, &decision, approve.clone()),
        post_sse(&b, &cookie, &decision, approve.clone())
    );
    let mut statuses = [on_a.0, on_b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{on_a:?} {on_b:?}");
    let winner = if on_a.0 == 200 { &on_a.1 } else { &on_b.1 };
    assert_eq!(answer(winner), "Sent again.");
    assert_eq!(composio.count("POST", "/tools/execute/GMAIL_SEND_EMAIL"), 2);

    // One log, whichever instance recorded it.
    let actions = rest(&b, Method::GET, "/actions".into(), Value::Null).await;
    assert_eq!(actions["actions"][0]["decision"], "approved");
    assert_eq!(actions["actions"][0]["provider_ids"]["id"], "msg_from_b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_on_b_disconnects_the_socket_on_a_within_a_second_and_nothing_it_sends_is_stored() {
    let shared = Shared::new();
    let fake = FakeOpenAi::start().await;
    let a = shared.start("a", &fake).await;
    let b = shared.start("b", &fake).await;
    let (cookie, conv) = session_and_conversation(&a).await;

    let lines = run(
        &[&a, &b],
        plan([
            connect_and_join("a", &cookie, conv, 1),
            vec![
                json!({"http": {"method": "POST", "path": "/auth/logout", "cookie": cookie, "at": "b"}}),
                json!({"wait": "disconnect", "timeout_ms": 1000}),
                json!({"emit": "message", "data": {"content": "still there?", "conversation_id": conv}}),
                json!({"connect": {"at": "a", "cookie": cookie}}),
                json!({"wait": "connect_error"}),
                json!({"emit": "message", "data": {"content": "and now?", "conversation_id": conv}}),
                json!({"sleep": 300}),
            ],
        ]),
    )
    .await;

    assert_eq!(named(&lines, "http")[0]["data"]["status"], 200);
    let disconnect = named(&lines, "disconnect");
    assert_eq!(disconnect[0]["data"]["reason"], "io server disconnect", "{lines:?}");
    assert_eq!(disconnect[0]["at"], "a");
    assert_eq!(
        named(&lines, "connect_error")[0]["data"]["message"],
        "Not authenticated"
    );
    // The local user signs in again (a new session) to look: nothing was stored.
    let (fresh, _) = session_and_conversation(&b).await;
    assert!(stored(&a, &fresh, conv).await.is_empty(), "{}", a.log_tail());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_on_b_refuses_the_token_on_a_within_a_second_though_a_checks_sessions_in_memory() {
    let shared = Shared::new();
    let fake = FakeOpenAi::start().await;
    let a = shared.start("a", &fake).await;
    let b = shared.start("b", &fake).await;
    let (cookie, _) = session_and_conversation(&a).await;
    let me = |at: &Instance| {
        reqwest::Client::new()
            .get(format!("{}/auth/me", at.base))
            .header("cookie", &cookie)
            .send()
    };
    assert_eq!(me(&a).await.unwrap().status(), 200);
    let out = reqwest::Client::new()
        .post(format!("{}/auth/logout", b.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    assert_eq!(me(&b).await.unwrap().status(), 401, "at once where it was revoked");
    // A learns of it from B's notice through Redis.
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let status = me(&a).await.unwrap().status();
        if status == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "A still accepts the token after a second ({status})\n{}",
            a.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A restarted instance loads the revocation from the database.
    let c = shared.start("c", &fake).await;
    assert_eq!(me(&c).await.unwrap().status(), 401, "{}", c.log_tail());
}

/// Sends a message on `at` and waits for `chunks` chunks of the answer, then leaves: what the
/// person saw before the instance died.
async fn watch_part_of_an_answer(at: &Instance, cookie: &str, conv: i64, chunks: u32) -> String {
    let lines = run(
        &[at],
        plan([
            connect_and_join(&at.name, cookie, conv, 1),
            vec![
                json!({"emit": "message", "data": {"content": "Tell a long story", "conversation_id": conv}}),
                json!({"wait": "assistant", "count": chunks}),
            ],
        ]),
    )
    .await;
    text_of(&lines, 1)
}

/// After a restart: the question, then the partial answer, once, marked; returns the partial.
async fn cut_answer_is_stored_once(at: &Instance, cookie: &str, conv: i64, seen: &str) -> String {
    let msgs = stored(at, cookie, conv).await;
    assert_eq!(msgs.len(), 2, "{msgs:?}\n{}", at.log_tail());
    assert_eq!(msgs[0], ("Human".into(), "Tell a long story".into()));
    assert_eq!(msgs[1].0, "AI");
    let partial = msgs[1]
        .1
        .strip_suffix(LOST_MARK)
        .expect("marked as cut by the server's stop");
    // Everything the person saw (more than a moment before the kill) is kept.
    assert!(partial.starts_with(seen), "saw {seen:?}, stored {partial:?}");
    partial.to_owned()
}

/// A new message in the conversation is accepted at once (no lease to wait for) and answered.
async fn next_message_is_answered(at: &Instance, fake: &FakeOpenAi, cookie: &str, conv: i64) {
    fake.push(Reply::text("Back."));
    let again = run(
        &[at],
        plan([
            connect_and_join(&at.name, cookie, conv, 1),
            vec![
                json!({"emit": "message", "data": {"content": "Still there?", "conversation_id": conv}}),
                json!({"wait": "last_chunk"}),
            ],
        ]),
    )
    .await;
    assert!(named(&again, "error").is_empty(), "{again:?}");
    assert_eq!(text_of(&again, 1), "Back.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_instance_killed_mid_answer_and_restarted_keeps_what_was_seen() {
    let shared = Shared::single();
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(words(300)).with_chunk_delay(Duration::from_millis(50)));
    let mut a = shared.start("a", &fake).await;
    let (cookie, conv) = session_and_conversation(&a).await;
    let seen = watch_part_of_an_answer(&a, &cookie, conv, 10).await;
    // The person saw `seen` more than a second before the kill.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    a.kill();
    let b = shared.start("a", &fake).await;
    let partial = cut_answer_is_stored_once(&b, &cookie, conv, &seen).await;
    next_message_is_answered(&b, &fake, &cookie, conv).await;
    let msgs = stored(&b, &cookie, conv).await;
    assert_eq!(msgs.len(), 4, "the cut answer is stored once: {msgs:?}");
    assert_eq!(msgs[1].1, format!("{partial}{LOST_MARK}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_answer_and_restarted_frees_the_conversation_at_once() {
    let shared = Shared::new();
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(words(300)).with_chunk_delay(Duration::from_millis(50)));
    let mut a = shared.start("a", &fake).await;
    let (cookie, conv) = session_and_conversation(&a).await;
    let seen = watch_part_of_an_answer(&a, &cookie, conv, 5).await;
    a.kill();
    // Back well within the run's lease (10 s): the restarted instance knows at once that the
    // old one is gone.
    let a2 = shared.start("a", &fake).await;
    let partial = cut_answer_is_stored_once(&a2, &cookie, conv, &seen).await;
    next_message_is_answered(&a2, &fake, &cookie, conv).await;
    let msgs = stored(&a2, &cookie, conv).await;
    assert_eq!(msgs.len(), 4, "the cut answer is stored once: {msgs:?}");
    assert_eq!(msgs[1].1, format!("{partial}{LOST_MARK}"));
}

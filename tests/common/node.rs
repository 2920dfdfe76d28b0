//! The npm `socket.io-client` driven by a plan (tests/node/multi.mjs: connect, emit, wait), as a
//! browser tab would use the Socket.IO contract.

use super::TestApp;
use serde_json::Value;
use std::path::PathBuf;

pub fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node")
}

/// Runs the node client with a plan against `app`; returns every line it printed, as JSON.
pub async fn run_client(app: &TestApp, plan: Value) -> Vec<Value> {
    meai_testkit::need::node_package(&node_dir(), "socket.io-client");
    let (base, plan) = (app.base.clone(), plan.to_string());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(node_dir().join("client.mjs"))
            .arg(base)
            .arg(plan)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(
        out.status.success(),
        "client failed: {}\n{}",
        lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    lines
}

/// The lines of one event.
pub fn named<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == event).collect()
}

/// The answer text connection `conn` received, its `assistant` chunks joined.
pub fn text_of(lines: &[Value], conn: i64) -> String {
    named(lines, "assistant")
        .iter()
        .filter(|l| l["conn"] == conn)
        .map(|l| l["data"]["content"].as_str().unwrap())
        .collect()
}

//! The test peer: `tests/server/server.mjs`, a real MCP server on the official TypeScript SDK,
//! started per test on a free loopback port and killed when dropped. The app's tests
//! (`tests/mcp.rs` at the workspace root) include this file too.

#![allow(dead_code)]

use meai_mcp::McpServerConfig;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct NodeServer {
    child: Child,
    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    origin: String,
}

fn server_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let own = here.join("tests/server");
    if own.join("server.mjs").is_file() {
        own
    } else {
        // Included from the workspace root's tests.
        here.join("adapters/mcp/tests/server")
    }
}

impl NodeServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the server with extra arguments (`--token T`, `--page-size N`, `--port N`; the
    /// port is a free one unless given).
    pub fn start_with(args: &[&str]) -> Self {
        let dir = server_dir();
        assert!(
            dir.join("node_modules/@modelcontextprotocol/sdk").is_dir(),
            "the MCP test server's dependencies are missing: run `npm ci` in {}",
            dir.display()
        );
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
        let mut child = Command::new(&node)
            .arg("server.mjs")
            .args(if args.contains(&"--port") {
                &[][..]
            } else {
                &["--port", "0"][..]
            })
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start `{node} server.mjs`: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        // Blocks until the server prints its address, or exits (EOF).
        let read = BufReader::new(stdout).read_line(&mut line);
        let url = match read {
            Ok(n) if n > 0 && line.starts_with("listening ") => line["listening ".len()..].trim().to_owned(),
            _ => {
                let _ = child.kill();
                panic!("the MCP test server did not start (printed {line:?})");
            }
        };
        let origin = url.trim_end_matches("/mcp").to_owned();
        Self { child, url, origin }
    }

    pub fn port(&self) -> u16 {
        self.origin
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    /// A config for this server: loopback needs `allow_private`.
    pub fn config(&self, name: &str) -> McpServerConfig {
        McpServerConfig::new(name, &self.url)
            .allow_private(true)
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(10))
    }

    /// What the server saw.
    pub async fn stats(&self) -> Value {
        let text = reqwest::get(format!("{}/stats", self.origin))
            .await
            .expect("stats")
            .text()
            .await
            .expect("stats body");
        serde_json::from_str(&text).expect("stats JSON")
    }

    /// Count of one JSON-RPC method the server received.
    pub async fn method_count(&self, method: &str) -> u64 {
        self.stats().await["methods"][method].as_u64().unwrap_or(0)
    }

    /// Makes the server forget every session, as after a restart.
    pub async fn drop_sessions(&self) {
        let client = reqwest::Client::new();
        let res = client
            .post(format!("{}/drop-sessions", self.origin))
            .send()
            .await
            .expect("drop-sessions");
        assert!(res.status().is_success());
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

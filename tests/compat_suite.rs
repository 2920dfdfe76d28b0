//! The frontend compatibility suite (`tests/compat`, node's built-in test runner) against the real
//! server on a random port: SQLite, local-mode sign-in, the fake OpenAI server as the model and
//! the fake Composio server behind the toolkits.
//!
//! Needs `npm ci` in tests/compat (`cargo xtask test` does it); without `tests/compat/node_modules`
//! it fails, naming the command. Run the suite alone with
//! `cargo test -p meai --test compat_suite -- --nocapture`.

mod common;

use meai_testkit::composio::{self, FakeComposio};
use meai_testkit::openai::{FakeOpenAi, Reply};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// The frontend's origin in the suite (the server's `ALLOWED_ORIGIN`).
const FRONTEND_ORIGIN: &str = "http://frontend.test";

/// The supported toolkits with the configuration variable of their Composio auth config.
const TOOLKITS: [(&str, &str); 6] = [
    ("GOOGLECALENDAR", "GOOGLE_CALENDAR_AUTH_CONFIG_ID"),
    ("NOTION", "NOTION_AUTH_CONFIG_ID"),
    ("SLACKBOT", "SLACKBOT_AUTH_CONFIG_ID"),
    ("GMAIL", "GMAIL_AUTH_CONFIG_ID"),
    ("GOOGLETASKS", "GOOGLE_TASKS_AUTH_CONFIG_ID"),
    ("TWITTER", "TWITTER_AUTH_CONFIG_ID"),
];

fn compat_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_frontend_works_against_this_server() {
    let dir = compat_dir();
    meai_testkit::need::node_package(&dir, "socket.io-client");

    let openai = FakeOpenAi::start().await;
    script_tool_calls(&openai);
    let composio = Arc::new(FakeComposio::start().await);
    composio.add_tool(composio::tool(
        "GOOGLETASKS_INSERT_TASK",
        "googletasks",
        "Add a task to a Google Tasks list.",
        json!({"title": {"type": "string"}, "notes": {"type": "string"}}),
        &["title"],
        &["createHint"],
    ));
    let auth_configs: Vec<(String, &str)> = TOOLKITS
        .iter()
        .map(|(slug, var)| {
            let id = format!("ac_{}", slug.to_lowercase());
            composio.auth_config(&id, &slug.to_lowercase());
            (id, *var)
        })
        .collect();
    let (openai_url, composio_url) = (openai.base_url(), composio.base_url());
    let mut vars: Vec<(&str, &str)> = vec![
        ("ALLOWED_ORIGIN", FRONTEND_ORIGIN),
        ("FRONTEND_URL", FRONTEND_ORIGIN),
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &openai_url),
        ("COMPOSIO_API_KEY", composio::API_KEY),
        ("COMPOSIO_BASE_URL", &composio_url),
    ];
    vars.extend(auth_configs.iter().map(|(id, var)| (*var, id.as_str())));
    let app = common::spawn_app_with(&vars).await;
    let _consent = tokio::spawn(complete_connections(composio.clone()));

    let base = app.base.clone();
    let cookie_name = app.state.config.cookie_name.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-reporter=spec", "--test-timeout=60000"])
            .current_dir(&dir)
            .env("MEAI_BASE_URL", base)
            .env("MEAI_FRONTEND_ORIGIN", FRONTEND_ORIGIN)
            .env("MEAI_COOKIE_NAME", cookie_name)
            .env("NO_COLOR", "1")
            .output()
    })
    .await
    .unwrap()
    .expect("`node` runs (node 20 or later on PATH)");

    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "the compatibility suite failed ({}); its report is above",
        out.status
    );
}

/// The suite's phrases that the model answers with a tool call needing approval (the test files
/// name them in `lib/server.mjs`, `TOOL_TRIGGERS`); keyed, since the files run concurrently.
fn script_tool_calls(openai: &FakeOpenAi) {
    let event = || {
        Reply::tool_call(
            "GOOGLECALENDAR_CREATE_EVENT",
            json!({"summary": "Dentist", "start_datetime": "2025-05-02T09:00:00Z"}),
        )
    };
    openai.push_when("[compat: calendar, then yes]", event());
    openai.push_when("[compat: calendar, then something else]", event());
    openai.push_when(
        "[compat: a task through the client]",
        Reply::tool_call("GOOGLETASKS_INSERT_TASK", json!({"title": "Buy milk"})),
    );
}

/// The person at the other end of `redirect_url`: every connection that Composio has initiated
/// becomes active shortly after, as when someone finishes the provider's consent screen.
async fn complete_connections(composio: Arc<FakeComposio>) {
    loop {
        for account in composio.accounts().into_iter().filter(|a| a.status == "INITIATED") {
            composio.set_status(&account.id, "ACTIVE", None);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

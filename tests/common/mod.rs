//! Boots the real server on a random port, zero2prod-style: over the configured adapters on a
//! fresh SQLite file ([`spawn_app`]), or over the in-memory ones of `meai-mock` for fast tests of
//! the edge ([`spawn_mock_app`]).
#![allow(dead_code)]

pub mod node;
pub mod sse;

use meai::adapters::Adapters;
use meai::config::Config;
use meai::startup::{Server, assemble};
use meai::state::AppState;
use meai_core::session::SessionToken;
use meai_core::{AuthMethod, Email, NewUser, User};
use reqwest::StatusCode;
use std::net::SocketAddr;
use std::sync::Arc;

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    _dir: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the app with extra environment-style settings on top of the test defaults.
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    spawn_app_customized(vars, |adapters| adapters).await
}

/// The in-memory adapters: no model (turns end with an error) and no toolkits unless the test
/// sets them.
pub fn mock_adapters() -> Adapters {
    let store = Arc::new(meai_mock::MemoryStore::default());
    Adapters {
        store: store.clone(),
        source: store,
        index: Arc::new(meai_mock::MemoryIndex::default()),
        embedder: Arc::new(meai_mock::HashEmbedder::default()),
        model: None,
        toolkits: None,
        runs: Arc::new(meai_mock::LocalRuns::default()),
        notices: Arc::new(meai_mock::LocalNotices::default()),
        codec: Arc::new(meai_mock::MemoryCodec::default()),
        sealer: Arc::new(meai_mock::MockSealer),
        identity: None,
    }
}

/// The app over [`mock_adapters`] as `customize` changes them.
pub async fn spawn_mock_app(vars: &[(&str, &str)], customize: impl FnOnce(Adapters) -> Adapters) -> TestApp {
    let config = test_config(vars, "sqlite://unused-by-mock-adapters.db");
    serve(config, customize(mock_adapters()), None).await
}

/// Like [`spawn_app_with`], letting the test swap adapters of the configured ones (e.g. a mock
/// toolkit platform).
pub async fn spawn_app_customized(vars: &[(&str, &str)], customize: impl FnOnce(Adapters) -> Adapters) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("meai.db").display());
    let config = test_config(vars, &db);
    let adapters = Adapters::from_config(&config).await.expect("adapters");
    serve(config, customize(adapters), Some(dir)).await
}

/// The test servers' `SECRET_KEY` (long enough for Google mode).
pub const TEST_SECRET_KEY: &str = "test-secret-key-for-sessions-at-least-32-bytes";

/// The test defaults with `vars` on top.
fn test_config(vars: &[(&str, &str)], db: &str) -> Config {
    let mut all: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.to_owned()),
        ("SECRET_KEY".into(), TEST_SECRET_KEY.into()),
        ("FRONTEND_URL".into(), "http://frontend.test".into()),
        ("ALLOWED_ORIGIN".into(), "http://frontend.test".into()),
    ];
    all.retain(|(k, _)| !vars.iter().any(|(o, _)| o == k));
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::from_vars(all).expect("test config")
}

async fn serve(config: Config, adapters: Adapters, dir: Option<tempfile::TempDir>) -> TestApp {
    let state = assemble(config, adapters).await.expect("app state");
    let server = Server::bind(state.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        state,
        _dir: dir,
        _shutdown: tx,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that keeps cookies and does not follow redirects, like a browser tab we inspect.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Signs in through `GET /auth/google` in local mode; returns the browser holding the cookie.
    pub async fn local_browser(&self) -> reqwest::Client {
        let browser = self.browser();
        let resp = browser.get(self.url("/auth/google")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND);
        browser
    }

    /// Another person, signed in directly through the core (for isolation tests).
    pub async fn other_user(&self, email: &str) -> (User, SessionToken) {
        let profile = NewUser {
            email: Email::parse(email).unwrap(),
            name: Some("Other".into()),
            avatar_url: None,
            auth_method: AuthMethod::Google,
        };
        let (user, token, _) = self.state.sessions.sign_in(&profile).await.unwrap();
        (user, token)
    }
}

pub async fn json(resp: reqwest::Response) -> serde_json::Value {
    resp.json().await.expect("JSON body")
}

/// `(event, data)` of each frame of a Server-Sent Events body.
pub fn sse_frames(body: &str) -> Vec<(String, serde_json::Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let event = block.lines().find_map(|l| l.strip_prefix("event: "))?.to_owned();
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
            Some((event, serde_json::from_str(&data).ok()?))
        })
        .collect()
}

//! Boots the real server on a random port over a fresh SQLite file, zero2prod-style.
#![allow(dead_code)]

use meai::config::Config;
use meai::startup::{Server, build_state};
use meai::state::AppState;
use meai_core::session::SessionToken;
use meai_core::{AuthMethod, Email, NewUser, User};
use reqwest::StatusCode;
use std::net::SocketAddr;

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the app with extra environment-style settings on top of the test defaults.
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    spawn_app_customized(vars, |state| state).await
}

/// Like [`spawn_app_with`], letting the test swap parts of the wired state (e.g. a fake toolkit).
pub async fn spawn_app_customized(vars: &[(&str, &str)], customize: impl FnOnce(AppState) -> AppState) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("meai.db").display());
    let mut all: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db),
        ("SECRET_KEY".into(), "test-secret-key-for-sessions".into()),
        ("FRONTEND_URL".into(), "http://frontend.test".into()),
        ("ALLOWED_ORIGIN".into(), "http://frontend.test".into()),
    ];
    all.retain(|(k, _)| !vars.iter().any(|(o, _)| o == k));
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::from_vars(all).expect("test config");
    let state = customize(build_state(config).await.expect("app state"));
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

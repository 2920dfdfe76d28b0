//! A sign-in rig: `Logins` over `GoogleIdentity`, biscuit sessions and an in-memory store,
//! against the fake OpenID provider; plus a browser that stops at the callback redirect.

use chrono::Duration;
use meai_core::service::{Logins, SessionPolicy, Sessions};
use meai_google::{GoogleConfig, GoogleIdentity};
use meai_mock::MemoryStore;
use meai_session::BiscuitCodec;
use meai_testkit::oidc::FakeOidc;
use reqwest::Url;
use std::collections::HashMap;
use std::sync::Arc;

/// Never contacted: the "browser" stops at the redirect to it.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/auth/google/callback";

pub struct Rig {
    pub idp: FakeOidc,
    pub store: Arc<MemoryStore>,
    pub identity: Arc<GoogleIdentity>,
    pub sessions: Sessions,
    pub logins: Logins,
}

impl Rig {
    pub async fn start() -> Self {
        let idp = FakeOidc::start().await;
        let identity = Arc::new(GoogleIdentity::new(&config(&idp)).expect("valid config"));
        let store = Arc::new(MemoryStore::default());
        let sessions = Sessions::new(
            store.clone(),
            Arc::new(BiscuitCodec::from_secret(b"sign-in tests secret, long enough")),
            Arc::new(meai_mock::LocalNotices::default()),
            SessionPolicy {
                lifetime: Duration::days(7),
            },
            meai_session::new_token_id,
        );
        let logins = Logins::new(store.clone(), identity.clone(), sessions.clone());
        Self {
            idp,
            store,
            identity,
            sessions,
            logins,
        }
    }
}

pub fn config(idp: &FakeOidc) -> GoogleConfig {
    GoogleConfig {
        client_id: FakeOidc::CLIENT_ID.into(),
        client_secret: FakeOidc::CLIENT_SECRET.into(),
        redirect_uri: REDIRECT_URI.into(),
        auth_url: idp.authorize_url(),
        token_url: idp.token_url(),
        userinfo_url: idp.userinfo_url(),
    }
}

pub fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// Does what the browser does with the authorization URL: GET it, and read the redirect back to
/// us without following it. Returns the callback's query parameters.
pub async fn follow(authorization_url: &str) -> HashMap<String, String> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(authorization_url).send().await.expect("provider reachable");
    assert_eq!(response.status(), reqwest::StatusCode::FOUND, "authorize must redirect");
    let location = response.headers()[reqwest::header::LOCATION].to_str().unwrap();
    let callback = Url::parse(location).expect("absolute redirect");
    assert!(location.starts_with(REDIRECT_URI), "redirected to {location}");
    query(&callback)
}

/// Starts a login and brings back `(code, state)` from the callback.
pub async fn code_and_state(logins: &Logins, return_to: Option<&str>) -> (String, String) {
    let url = logins.start(return_to.map(str::to_owned)).await.expect("start");
    let back = follow(&url).await;
    (back["code"].clone(), back["state"].clone())
}

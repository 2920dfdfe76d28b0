//! Sign-in with Google through the real server and a wire-level fake OpenID provider, driven
//! like a browser: follow redirects by hand, keep cookies.

mod common;

use common::{TestApp, json, spawn_app_with};
use meai_testkit::oidc::{FakeOidc, Profile, TokenOutcome};
use reqwest::StatusCode;
use serde_json::json;

async fn google_app(idp: &FakeOidc) -> TestApp {
    // The redirect URI must be known before the server's port is: use a fixed path on a
    // placeholder host and deliver the provider's redirect to the real server ourselves, as a
    // reverse proxy would.
    spawn_app_with(&[
        ("GOOGLE_CLIENT_ID", FakeOidc::CLIENT_ID),
        ("GOOGLE_CLIENT_SECRET", FakeOidc::CLIENT_SECRET),
        ("GOOGLE_REDIRECT_URI", "https://meai.example.com/auth/google/callback"),
        ("GOOGLE_AUTH_URL", &idp.authorize_url()),
        ("GOOGLE_TOKEN_URL", &idp.token_url()),
        ("GOOGLE_USERINFO_URL", &idp.userinfo_url()),
    ])
    .await
}

/// Runs the browser part of the flow; returns the callback response (not followed).
async fn sign_in(app: &TestApp, browser: &reqwest::Client, return_to: Option<&str>) -> reqwest::Response {
    let start = match return_to {
        Some(p) => app.url(&format!("/auth/google?return_to={p}")),
        None => app.url("/auth/google"),
    };
    let to_idp = browser.get(start).send().await.unwrap();
    assert_eq!(to_idp.status(), StatusCode::FOUND);
    let authorize = to_idp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to_idp.headers().get("set-cookie").is_none(),
        "no session before the callback"
    );
    let back = browser.get(&authorize).send().await.unwrap();
    assert_eq!(
        back.status(),
        StatusCode::FOUND,
        "{}",
        back.text().await.unwrap_or_default()
    );
    callback(app, browser, back.headers()["location"].to_str().unwrap()).await
}

/// Delivers the provider's redirect (to the public callback URL) to the server under test.
async fn callback(app: &TestApp, browser: &reqwest::Client, location: &str) -> reqwest::Response {
    let path = location
        .strip_prefix("https://meai.example.com")
        .expect("redirect to the configured URI");
    browser.get(app.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn full_flow_signs_in_and_logout_revokes() {
    let idp = FakeOidc::start().await;
    idp.set_profile(Profile::new("grace@example.com").with_name("Grace Hopper"));
    let app = google_app(&idp).await;
    let browser = app.browser();

    let done = sign_in(&app, &browser, Some("/chat")).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(done.headers()["location"], "http://frontend.test/chat");
    let cookie = done.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let me = json(browser.get(app.url("/auth/me")).send().await.unwrap()).await;
    assert_eq!(me["email"], "grace@example.com");
    assert_eq!(me["name"], "Grace Hopper");
    assert_eq!(me["auth_method"], "google");

    // The authorization request carried what Google requires.
    let auth = &idp.requests_to("/authorize")[0];
    assert_eq!(auth.params["scope"], "openid email profile");
    assert_eq!(auth.params["code_challenge_method"], "S256");
    assert!(auth.params.contains_key("nonce"));
    assert_eq!(
        auth.params["redirect_uri"],
        "https://meai.example.com/auth/google/callback"
    );

    // Logout, then the copied cookie is worthless.
    let raw = cookie.split(';').next().unwrap().to_owned();
    let out = reqwest::Client::new()
        .post(app.url("/auth/logout"))
        .header("Cookie", &raw)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let replay = reqwest::Client::new()
        .get(app.url("/auth/me"))
        .header("Cookie", &raw)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn second_login_updates_the_same_user() {
    let idp = FakeOidc::start().await;
    let app = google_app(&idp).await;
    idp.set_profile(Profile::new("ada@example.com").with_name("Ada"));
    let b1 = app.browser();
    sign_in(&app, &b1, None).await;
    let first = json(b1.get(app.url("/auth/me")).send().await.unwrap()).await;
    idp.set_profile(Profile::new("ada@example.com").with_name("Ada Lovelace"));
    let b2 = app.browser();
    sign_in(&app, &b2, None).await;
    let second = json(b2.get(app.url("/auth/me")).send().await.unwrap()).await;
    assert_eq!(first["user_id"], second["user_id"]);
    assert_eq!(second["name"], "Ada Lovelace");
}

#[tokio::test]
async fn replayed_and_forged_states_are_refused() {
    let idp = FakeOidc::start().await;
    let app = google_app(&idp).await;
    let browser = app.browser();
    let to_idp = browser.get(app.url("/auth/google")).send().await.unwrap();
    let authorize = to_idp.headers()["location"].to_str().unwrap().to_owned();
    let back = browser.get(&authorize).send().await.unwrap();
    let location = back.headers()["location"].to_str().unwrap().to_owned();

    let ok = callback(&app, &browser, &location).await;
    assert!(ok.headers().contains_key("set-cookie"));
    let replay = callback(&app, &app.browser(), &location).await;
    assert_eq!(replay.status(), StatusCode::FOUND);
    assert_eq!(
        replay.headers()["location"],
        "http://frontend.test?auth_error=invalid_state"
    );
    assert!(replay.headers().get("set-cookie").is_none());

    let forged = app
        .browser()
        .get(app.url("/auth/google/callback?code=abc&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.headers()["location"],
        "http://frontend.test?auth_error=invalid_state"
    );
    let missing = app
        .browser()
        .get(app.url("/auth/google/callback"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert!(json(missing).await["detail"].is_string());
}

#[tokio::test]
async fn refusals_redirect_with_an_error_code() {
    let idp = FakeOidc::start().await;
    let app = google_app(&idp).await;

    idp.set_profile(Profile::new("eve@example.com").unverified());
    let r = sign_in(&app, &app.browser(), None).await;
    assert_eq!(
        r.headers()["location"],
        "http://frontend.test?auth_error=unverified_email"
    );
    assert!(r.headers().get("set-cookie").is_none());

    idp.set_profile(Profile::new("bob@example.com"));
    idp.set_token_outcome(TokenOutcome::Reject);
    let r = sign_in(&app, &app.browser(), None).await;
    assert_eq!(r.headers()["location"], "http://frontend.test?auth_error=rejected");

    idp.set_token_outcome(TokenOutcome::Unavailable);
    let r = sign_in(&app, &app.browser(), None).await;
    assert_eq!(
        r.headers()["location"],
        "http://frontend.test?auth_error=provider_unavailable"
    );

    idp.set_token_outcome(TokenOutcome::Issue);
    idp.deny_consent(true);
    let browser = app.browser();
    let to_idp = browser.get(app.url("/auth/google")).send().await.unwrap();
    let back = browser
        .get(to_idp.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    let r = callback(&app, &browser, back.headers()["location"].to_str().unwrap()).await;
    assert_eq!(r.headers()["location"], "http://frontend.test?auth_error=access_denied");
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    use meai_core::session::{SessionClaims, TokenCodec};
    let idp = FakeOidc::start().await;
    let app = google_app(&idp).await;
    let b = app.browser();
    sign_in(&app, &b, None).await;
    let me = json(b.get(app.url("/auth/me")).send().await.unwrap()).await;
    // Same key as the server (SECRET_KEY of the test config), but already expired.
    let codec = meai_session::BiscuitCodec::from_secret(common::TEST_SECRET_KEY.as_bytes());
    let now = chrono::Utc::now();
    let claims = SessionClaims {
        user_id: meai_core::UserId(me["user_id"].as_i64().unwrap()),
        token_id: meai_session::new_token_id(),
        issued_at: now - chrono::Duration::hours(2),
        expires_at: now - chrono::Duration::hours(1),
    };
    let expired = codec.mint(&claims).unwrap();
    let r = reqwest::Client::new()
        .get(app.url("/auth/me"))
        .header("Authorization", format!("Bearer {}", expired.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The same claims, still valid, are accepted: the refusal above is the expiry.
    let fresh = codec
        .mint(&SessionClaims {
            expires_at: now + chrono::Duration::hours(1),
            ..claims
        })
        .unwrap();
    let r = reqwest::Client::new()
        .get(app.url("/auth/me"))
        .header("Authorization", format!("Bearer {}", fresh.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["email"], json!(me["email"]));
}

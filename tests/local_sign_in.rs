//! Local single-user mode: sign-in, the current user, bearer tokens, logout revocation, CORS.

mod common;

use common::{json, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn local_sign_in_sets_the_cookie_and_redirects_to_the_frontend() {
    let app = spawn_app_with(&[
        ("COOKIE_NAME", "meai_sid"),
        ("COOKIE_SECURE", "true"),
        ("COOKIE_SAMESITE", "strict"),
    ])
    .await;
    let b = app.browser();
    let r = b.get(app.url("/auth/google?return_to=/chat/3")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "http://frontend.test/chat/3");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("meai_sid="), "{cookie}");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    // An absolute return target would be an open redirect: ignored.
    let r = b
        .get(app.url("/auth/google?return_to=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "http://frontend.test");

    let me = b.get(app.url("/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me = json(me).await;
    assert_eq!(me["auth_method"], "local");
    assert_eq!(me["email"], "me@localhost.localdomain");
    let mut keys: Vec<_> = me.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "auth_method",
            "avatar_url",
            "created_at",
            "email",
            "last_login",
            "name",
            "user_id"
        ]
    );
}

#[tokio::test]
async fn signing_in_twice_is_the_same_local_user() {
    let app = spawn_app().await;
    let one = json(app.local_browser().await.get(app.url("/auth/me")).send().await.unwrap()).await;
    let two = json(app.local_browser().await.get(app.url("/auth/me")).send().await.unwrap()).await;
    assert_eq!(one["user_id"], two["user_id"]);
}

#[tokio::test]
async fn logout_revokes_the_token_everywhere() {
    let app = spawn_app().await;
    let b = app.local_browser().await;
    let token = json(b.post(app.url("/auth/token")).send().await.unwrap()).await;
    assert_eq!(token["token_type"], "bearer");
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());

    // Keep the cookie value to replay it after logout, as an attacker who copied it would.
    let cookie_token = {
        let r = app.browser().get(app.url("/auth/google")).send().await.unwrap();
        let c = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        c.split(';').next().unwrap().to_owned()
    };
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(app.url("/auth/me"))
            .header("Cookie", &cookie_token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let out = http
        .post(app.url("/auth/logout"))
        .header("Cookie", &cookie_token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let cleared = out.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(json(out).await, json!({"message": "Logged out successfully"}));

    let replay = http
        .get(app.url("/auth/me"))
        .header("Cookie", &cookie_token)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    // Other sessions live on until they are logged out themselves.
    assert_eq!(
        http.get(app.url("/auth/me"))
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    http.post(app.url("/auth/logout"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        http.get(app.url("/auth/me"))
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.get(app.url("/auth/me")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn tokens_from_another_key_are_refused() {
    let app = spawn_app().await;
    let other = spawn_app_with(&[("SECRET_KEY", "a-different-secret")]).await;
    let b = other.local_browser().await;
    let foreign = json(b.post(other.url("/auth/token")).send().await.unwrap()).await;
    let r = reqwest::Client::new()
        .get(app.url("/auth/me"))
        .header(
            "Authorization",
            format!("Bearer {}", foreign["access_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn probes_and_cors() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    assert_eq!(
        json(http.get(app.url("/health")).send().await.unwrap()).await,
        json!({"status": "healthy"})
    );
    assert_eq!(
        json(http.get(app.url("/ready")).send().await.unwrap()).await,
        json!({"status": "ready"})
    );
    let root = http.get(app.url("/")).send().await.unwrap();
    assert!(root.headers().contains_key("x-request-id"));
    assert!(json(root).await["version"].is_string());

    let pre = http
        .request(reqwest::Method::OPTIONS, app.url("/conversations"))
        .header("Origin", "http://frontend.test")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "http://frontend.test");
    assert_eq!(pre.headers()["access-control-allow-credentials"], "true");
    let evil = http
        .request(reqwest::Method::OPTIONS, app.url("/conversations"))
        .header("Origin", "http://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!evil.headers().contains_key("access-control-allow-origin"));

    let r = http
        .get(app.url("/health"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
}

/// Every sign-in redirect is valid: control characters fall back to `FRONTEND_URL`, and
/// anything outside ASCII reaches `Location` percent-encoded.
#[tokio::test]
async fn sign_in_redirects_are_always_valid() {
    let app = spawn_app().await;
    let b = app.browser();
    for (return_to, location) in [
        ("%2Fok%0D%0Ax", "http://frontend.test"),
        ("/a%00b", "http://frontend.test"),
        ("/x%09y", "http://frontend.test"),
        (
            "/caf%C3%A9%20%C3%BC?q=%E2%9C%93",
            "http://frontend.test/caf%C3%A9%20%C3%BC?q=%E2%9C%93",
        ),
        ("/ok", "http://frontend.test/ok"),
    ] {
        let r = b
            .get(app.url(&format!("/auth/google?return_to={return_to}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FOUND, "{return_to}");
        assert_eq!(
            r.headers().get("location").map(|l| l.to_str().unwrap()),
            Some(location),
            "{return_to}"
        );
    }
}

//! The fake provider enforces what Google enforces; otherwise the sign-in tests would prove little.

use meai_testkit::oidc::FakeOidc;
use reqwest::StatusCode;
use std::collections::HashMap;

const REDIRECT_URI: &str = "http://127.0.0.1:9/auth/google/callback";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn authorize_params() -> HashMap<&'static str, String> {
    HashMap::from([
        ("client_id", FakeOidc::CLIENT_ID.to_owned()),
        ("redirect_uri", REDIRECT_URI.to_owned()),
        ("response_type", "code".to_owned()),
        ("scope", "openid email profile".to_owned()),
        ("state", "s".to_owned()),
        (
            "code_challenge",
            challenge("verifier-0123456789012345678901234567890123"),
        ),
        ("code_challenge_method", "S256".to_owned()),
    ])
}

fn challenge(verifier: &str) -> String {
    oauth2::PkceCodeChallenge::from_code_verifier_sha256(&oauth2::PkceCodeVerifier::new(verifier.into()))
        .as_str()
        .to_owned()
}

#[tokio::test]
async fn authorize_refuses_malformed_requests() {
    let idp = FakeOidc::start().await;
    let http = no_redirects();
    let good = authorize_params();
    assert_eq!(
        http.get(idp.authorize_url())
            .query(&good)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FOUND
    );

    let broken: [(&str, Option<&str>); 7] = [
        ("client_id", Some("someone-else")),
        ("redirect_uri", Some("/relative")),
        ("response_type", Some("token")),
        ("scope", Some("profile")),
        ("state", None),
        ("code_challenge", None),
        ("code_challenge_method", Some("plain")),
    ];
    for (name, value) in broken {
        let mut params = good.clone();
        match value {
            Some(v) => params.insert(name, v.to_owned()),
            None => params.remove(name),
        };
        let response = http.get(idp.authorize_url()).query(&params).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}={value:?}");
    }
}

#[tokio::test]
async fn token_checks_client_redirect_uri_and_single_use() {
    let idp = FakeOidc::start().await;
    let http = no_redirects();
    let verifier = "verifier-0123456789012345678901234567890123";
    let new_code = || async {
        let r = http
            .get(idp.authorize_url())
            .query(&authorize_params())
            .send()
            .await
            .unwrap();
        let location = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    };
    let exchange = |code: String, secret: &'static str, redirect_uri: &'static str| {
        let form = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", redirect_uri.to_owned()),
            ("code_verifier", verifier.to_owned()),
            ("client_id", FakeOidc::CLIENT_ID.to_owned()),
            ("client_secret", secret.to_owned()),
        ];
        let request = http.post(idp.token_url()).form(&form);
        async move {
            let r = request.send().await.unwrap();
            let status = r.status();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };

    let (status, body) = exchange(new_code().await, "wrong-secret", REDIRECT_URI).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    let (status, body) = exchange(new_code().await, FakeOidc::CLIENT_SECRET, "http://127.0.0.1:9/other").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("redirect_uri_mismatch"))
    );

    let code = new_code().await;
    let (status, body) = exchange(code.clone(), FakeOidc::CLIENT_SECRET, REDIRECT_URI).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].is_string() && body["id_token"].is_string());

    let (status, body) = exchange(code, FakeOidc::CLIENT_SECRET, REDIRECT_URI).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn userinfo_wants_an_issued_bearer_token() {
    let idp = FakeOidc::start().await;
    let http = no_redirects();
    let anonymous = http.get(idp.userinfo_url()).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let made_up = http
        .get(idp.userinfo_url())
        .bearer_auth("ya29.made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(made_up.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(idp.requests_to("/userinfo").len(), 2);
}

//! Operations (issue 7): `/metrics`, limits, graceful shutdown.

mod common;

use common::spawn_app_with;
use meai::config::Config;
use meai::startup::{Server, build_state};
use meai_core::turn::STOPPED_MARK;
use meai_core::{MessageKind, Page};
use meai_testkit::openai::{FakeOpenAi, Reply};
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test]
async fn metrics_expose_the_series_and_can_require_a_token() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(["Hel", "lo"]).with_usage(11, 2));
    let app = spawn_app_with(&[
        ("METRICS_TOKEN", "scrape-me"),
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &fake.base_url()),
    ])
    .await;
    let (user, token) = app.other_user("ada@example.com").await;
    let conv = app.state.conversations.create(user.id, None).await.unwrap();
    let body = reqwest::Client::new()
        .post(app.url(&format!("/conversations/{}/messages", conv.id.0)))
        .bearer_auth(token.expose())
        .json(&serde_json::json!({"content": "Hi"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("last_chunk"), "{body}");

    let http = reqwest::Client::new();
    let resp = http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = http.get(app.url("/metrics")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    for series in [
        "meai_http_requests_total",
        "meai_http_request_duration_seconds_bucket",
        "meai_active_sockets",
        "meai_active_runs",
        "meai_time_to_first_token_seconds_bucket",
        "meai_model_tokens_total{direction=\"in\"}",
        "meai_model_tokens_total{direction=\"out\"}",
        "meai_recall_duration_seconds",
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    // Routes are labelled by template, not by concrete ids.
    assert!(text.contains("route=\"/conversations/:param0/messages\""), "{text}");
}

#[tokio::test]
async fn only_the_sign_in_flow_is_rate_limited_per_ip_with_retry_after() {
    let app = spawn_app_with(&[("AUTH_RATE_PER_MINUTE", "2")]).await;
    let browser = app.local_browser().await; // the first sign-in
    // Using the session is not signing in: far more than the quota, never refused.
    for _ in 0..10 {
        let me = browser.get(app.url("/auth/me")).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::OK);
        let token = browser.post(app.url("/auth/token")).send().await.unwrap();
        assert_eq!(token.status(), StatusCode::OK);
    }
    let anonymous = app.browser();
    for _ in 0..5 {
        let me = anonymous.get(app.url("/auth/me")).send().await.unwrap();
        assert_eq!(
            me.status(),
            StatusCode::UNAUTHORIZED,
            "refused for the session, not the rate"
        );
    }
    assert_eq!(
        browser.post(app.url("/auth/logout")).send().await.unwrap().status(),
        StatusCode::OK
    );
    // The second sign-in is within the quota, the third is not.
    let second = app.browser().get(app.url("/auth/google")).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::FOUND);
    let resp = app.browser().get(app.url("/auth/google/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(
        common::json(resp).await["detail"]
            .as_str()
            .unwrap()
            .contains("Too many requests")
    );
    let callback = app
        .browser()
        .get(app.url("/auth/google/callback?code=c&state=s"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        callback.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the callback is sign-in too"
    );
    // Other paths are not affected.
    assert_eq!(
        anonymous.get(app.url("/health")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn shutdown_lets_runs_finish_then_stops_them_with_partial_answers_kept() {
    let fake = FakeOpenAi::start().await;
    // Streams for about 10 s: longer than the grace period.
    fake.push(Reply::chunks((0..100).map(|i| format!("w{i} "))).with_chunk_delay(Duration::from_millis(100)));
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("meai.db").display()),
        ),
        ("SECRET_KEY", "test-secret".into()),
        ("SHUTDOWN_GRACE_SECONDS", "1".into()),
        ("MODEL", "openai".into()),
        ("OPENAI_API_KEY", "sk-test".into()),
        ("OPENAI_BASE_URL", fake.base_url()),
    ];
    let config = Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.clone()))).unwrap();
    let state = build_state(config).await.unwrap();
    let server = Server::bind(state.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    let (stop, on_stop) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.run(async {
        let _ = on_stop.await;
    }));

    let (user, token, _) = state.sessions.sign_in(&profile()).await.unwrap();
    let conv = state.conversations.create(user.id, None).await.unwrap();
    let mut resp = reqwest::Client::new()
        .post(format!("{base}/conversations/{}/messages", conv.id.0))
        .bearer_auth(token.expose())
        .json(&serde_json::json!({"content": "Write a long story"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Once the answer streams, ask the server to shut down.
    let mut body = String::new();
    while !body.contains("w2 ") {
        body.push_str(&String::from_utf8_lossy(
            &resp.chunk().await.unwrap().expect("more events"),
        ));
    }
    let signalled = std::time::Instant::now();
    stop.send(()).unwrap();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(body.contains("event: last_chunk"), "{body}");
    assert!(body.contains("\"stopped\":true"), "{body}");

    let result = tokio::time::timeout(Duration::from_secs(20), served)
        .await
        .expect("the server stops");
    result.unwrap().expect("a clean exit");
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "the grace period was not honoured: {took:?}"
    );
    // New connections are refused once shut down.
    assert!(
        reqwest::Client::new()
            .get(format!("{base}/health"))
            .send()
            .await
            .is_err()
    );

    let stored = state
        .conversations
        .messages(user.id, conv.id, Page::all())
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[0].kind, MessageKind::Human);
    assert_eq!(stored[1].kind, MessageKind::Ai);
    assert!(stored[1].content.starts_with("w0 w1 w2 "), "{}", stored[1].content);
    assert!(stored[1].content.ends_with(STOPPED_MARK), "{}", stored[1].content);
}

#[tokio::test]
async fn shutdown_waits_for_a_run_that_finishes_within_the_grace_period() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::chunks(["a ", "b ", "c ", "d ", "e"]).with_chunk_delay(Duration::from_millis(150)));
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("meai.db").display()),
        ),
        ("SECRET_KEY", "test-secret".into()),
        ("SHUTDOWN_GRACE_SECONDS", "10".into()),
        ("MODEL", "openai".into()),
        ("OPENAI_API_KEY", "sk-test".into()),
        ("OPENAI_BASE_URL", fake.base_url()),
    ];
    let config = Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.clone()))).unwrap();
    let state = build_state(config).await.unwrap();
    let server = Server::bind(state.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    let (stop, on_stop) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.run(async {
        let _ = on_stop.await;
    }));
    let (user, token, _) = state.sessions.sign_in(&profile()).await.unwrap();
    let conv = state.conversations.create(user.id, None).await.unwrap();
    let mut resp = reqwest::Client::new()
        .post(format!("{base}/conversations/{}/messages", conv.id.0))
        .bearer_auth(token.expose())
        .json(&serde_json::json!({"content": "Hi"}))
        .send()
        .await
        .unwrap();
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("assistant"));
    stop.send(()).unwrap();
    let rest = resp.text().await.unwrap();
    assert!(rest.contains("\"stopped\":false"), "{rest}");
    tokio::time::timeout(Duration::from_secs(20), served)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let stored = state
        .conversations
        .messages(user.id, conv.id, Page::all())
        .await
        .unwrap();
    assert_eq!(stored[1].content, "a b c d e");
}

fn profile() -> meai_core::NewUser {
    meai_core::NewUser {
        email: meai_core::Email::parse("ada@example.com").unwrap(),
        name: Some("Ada".into()),
        avatar_url: None,
        auth_method: meai_core::AuthMethod::Google,
    }
}

#[tokio::test]
async fn messages_over_the_rate_get_429_with_retry_after() {
    let app = spawn_app_with(&[("MESSAGE_RATE_PER_MINUTE", "1")]).await;
    let (user, token) = app.other_user("ada@example.com").await;
    let conv = app.state.conversations.create(user.id, None).await.unwrap();
    let send = || {
        reqwest::Client::new()
            .post(app.url(&format!("/conversations/{}/messages", conv.id.0)))
            .bearer_auth(token.expose())
            .json(&serde_json::json!({"content": "Hi"}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    first.text().await.unwrap();
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    assert!(
        common::json(resp).await["detail"]
            .as_str()
            .unwrap()
            .contains("Too many messages")
    );
    // The refused message was not stored.
    let stored = app
        .state
        .conversations
        .messages(user.id, conv.id, Page::all())
        .await
        .unwrap();
    assert_eq!(stored.iter().filter(|m| m.kind == MessageKind::Human).count(), 1);
}

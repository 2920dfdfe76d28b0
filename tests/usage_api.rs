//! Usage: every answer stores the tokens its provider reported and the model that wrote it;
//! `GET /usage` sums them per day, model or conversation, priced by `MODEL_PRICES`.

mod common;

use common::{json, spawn_app_with};
use meai_core::Page;
use meai_testkit::anthropic::FakeAnthropic;
use meai_testkit::openai::{FakeOpenAi, Reply};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn usage_sums_what_the_providers_reported() {
    let openai = FakeOpenAi::start().await;
    let claude = FakeAnthropic::start().await;
    let (open_url, claude_url) = (openai.base_url(), claude.base_url());
    let app = spawn_app_with(&[
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &open_url),
        ("ANTHROPIC_API_KEY", "sk-ant-test"),
        ("ANTHROPIC_BASE_URL", &claude_url),
        ("MODEL_PRICES", r#"{"gpt-4.1-mini": {"prompt": 1.0, "completion": 4.0}, "claude-sonnet-4-5": {"prompt": 3, "completion": 15}}"#),
    ])
    .await;
    let (user, token) = app.other_user("ada@example.com").await;
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str| client.request(method, app.url(path)).bearer_auth(token.expose());
    let create = |model: Option<&str>| {
        call(reqwest::Method::POST, "/conversations").json(&json!({"title": "Titled", "model": model}))
    };
    let gpt = json(create(None).send().await.unwrap()).await["conversation_id"]
        .as_i64()
        .unwrap();
    let sonnet = json(create(Some("claude-sonnet-4-5")).send().await.unwrap()).await["conversation_id"]
        .as_i64()
        .unwrap();
    let say = |id: i64, text: &str| {
        call(reqwest::Method::POST, &format!("/conversations/{id}/messages")).json(&json!({"content": text}))
    };
    openai.push(Reply::text("Hello").with_usage(11, 2));
    openai.push(Reply::text("Again").with_usage(20, 5));
    claude.push(Reply::text("Bonjour").with_usage(12, 4));
    for (id, text) in [(gpt, "Hi"), (gpt, "Once more"), (sonnet, "Salut")] {
        let resp = say(id, text).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.unwrap();
    }
    // Each answer carries its own usage.
    let stored = app
        .state
        .store
        .list_messages(user.id, meai_core::ConversationId(gpt), Page::all())
        .await
        .unwrap();
    let usages: Vec<_> = stored
        .iter()
        .map(|m| {
            m.usage
                .as_ref()
                .map(|u| (u.model.as_str(), u.prompt_tokens, u.completion_tokens))
        })
        .collect();
    assert_eq!(
        usages,
        [None, Some(("gpt-4.1-mini", 11, 2)), None, Some(("gpt-4.1-mini", 20, 5))]
    );

    let report = |query: &str| {
        let req = call(reqwest::Method::GET, &format!("/usage{query}"));
        async move {
            let resp = req.send().await.unwrap();
            (resp.status(), json(resp).await)
        }
    };
    let (status, by_model) = report("?group=model").await;
    assert_eq!(status, StatusCode::OK, "{by_model}");
    let lines = |v: &Value| -> Vec<Value> {
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| json!([l["key"], l["prompt_tokens"], l["completion_tokens"], l["messages"]]))
            .collect()
    };
    assert_eq!(
        lines(&by_model),
        [
            json!(["claude-sonnet-4-5", 12, 4, 1]),
            json!(["gpt-4.1-mini", 31, 7, 2])
        ]
    );
    let cost = |v: &Value| v.as_f64().unwrap();
    assert!((cost(&by_model["lines"][0]["cost"]) - (12.0 * 3.0 + 4.0 * 15.0) / 1e6).abs() < 1e-12);
    assert!((cost(&by_model["lines"][1]["cost"]) - (31.0 + 7.0 * 4.0) / 1e6).abs() < 1e-12);
    assert_eq!(
        (
            by_model["total"]["prompt_tokens"].clone(),
            by_model["total"]["completion_tokens"].clone()
        ),
        (json!(43), json!(11))
    );
    let (_, by_conversation) = report("?group=conversation").await;
    assert_eq!(
        lines(&by_conversation),
        [
            json!([gpt.to_string(), 31, 7, 2]),
            json!([sonnet.to_string(), 12, 4, 1])
        ]
    );
    let (_, by_day) = report("").await;
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    assert_eq!(
        (by_day["group"].clone(), by_day["to"].clone()),
        (json!("day"), json!(today.clone()))
    );
    assert_eq!(lines(&by_day), [json!([today, 43, 11, 3])]);
    let (_, empty) = report("?from=2020-01-01&to=2020-01-31").await;
    assert_eq!(
        (empty["lines"].clone(), empty["total"]["messages"].clone()),
        (json!([]), json!(0))
    );

    // Someone else sees only their own.
    let (_, other) = app.other_user("bob@example.com").await;
    let theirs = client
        .get(app.url("/usage"))
        .bearer_auth(other.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(json(theirs).await["total"]["messages"], 0);

    // A range is reported as far as it goes: at most 366 days, none when it is backwards.
    let (status, long) = report("?from=2020-01-01&to=2026-01-01").await;
    assert_eq!(status, StatusCode::OK, "{long}");
    assert_eq!(
        (long["from"].as_str(), long["to"].as_str()),
        (Some("2025-01-01"), Some("2026-01-01"))
    );
    let (status, backwards) = report("?from=2026-02-01&to=2026-01-01").await;
    assert_eq!(status, StatusCode::OK, "{backwards}");
    assert_eq!(backwards["lines"], json!([]));
    for bad in ["?from=2026-02-30", "?to=yesterday", "?group=week"] {
        let (status, body) = report(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["detail"].is_string(), "{body}");
    }
}

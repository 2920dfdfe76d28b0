//! Model choice: `GET /models` lists every configured provider's chat models, a conversation
//! chooses one (at creation or by PATCH, checked against the list), and its turns reach that
//! model's provider.

mod common;

use common::{TestApp, json, spawn_app_with};
use meai_testkit::anthropic::FakeAnthropic;
use meai_testkit::openai::{FakeOpenAi, Reply};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    token: String,
    openai: FakeOpenAi,
    claude: FakeAnthropic,
}

async fn setup(extra: &[(&str, &str)]) -> Setup {
    let openai = FakeOpenAi::start().await;
    let claude = FakeAnthropic::start().await;
    let (open_url, claude_url) = (openai.base_url(), claude.base_url());
    let mut vars = vec![
        ("MODEL", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", open_url.as_str()),
        ("OPENAI_MODELS", "gpt-4.1, gpt-4.1-mini"),
        ("ANTHROPIC_API_KEY", "sk-ant-test"),
        ("ANTHROPIC_BASE_URL", claude_url.as_str()),
        ("ANTHROPIC_MODELS", "claude-opus-4-1,claude-sonnet-4-5"),
    ];
    vars.extend_from_slice(extra);
    let app = spawn_app_with(&vars).await;
    let (_, token) = app.other_user("ada@example.com").await;
    Setup {
        app,
        token: token.expose().to_owned(),
        openai,
        claude,
    }
}

impl Setup {
    fn call(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, self.app.url(path))
            .bearer_auth(&self.token)
    }

    async fn models(&self) -> Value {
        let resp = self.call(reqwest::Method::GET, "/models").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        json(resp).await
    }

    async fn create(&self, body: Value) -> reqwest::Response {
        self.call(reqwest::Method::POST, "/conversations")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn patch(&self, id: i64, body: Value) -> reqwest::Response {
        self.call(reqwest::Method::PATCH, &format!("/conversations/{id}"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Sends a message and reads its whole answer (Server-Sent Events).
    async fn say(&self, id: i64, text: &str) -> String {
        let resp = self
            .call(reqwest::Method::POST, &format!("/conversations/{id}/messages"))
            .json(&json!({"content": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.unwrap()
    }
}

fn pairs(models: &Value) -> Vec<(String, String)> {
    models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_owned(),
                m["provider"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn models_lists_every_configured_provider_and_the_default() {
    let s = setup(&[]).await;
    let models = s.models().await;
    assert_eq!(models["default"], "gpt-4.1-mini");
    assert_eq!(
        pairs(&models),
        owned(&[
            ("gpt-4.1-mini", "openai"),
            ("gpt-4.1", "openai"),
            ("claude-opus-4-1", "anthropic"),
            ("claude-sonnet-4-5", "anthropic"),
        ])
    );
    assert_eq!(
        s.openai.model_list_requests(),
        0,
        "not asked without LIST_PROVIDER_MODELS"
    );
    let anonymous = reqwest::get(s.app.url("/models")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_provider_listing_adds_its_models_and_its_failure_is_tolerated() {
    let s = setup(&[("LIST_PROVIDER_MODELS", "true")]).await;
    s.openai.set_models(Some(vec!["gpt-4.1".into(), "o4-mini".into()]));
    let models = s.models().await;
    let ids: Vec<String> = pairs(&models).into_iter().map(|(id, _)| id).collect();
    // Anthropic's list is not faked (404): its configured models stay.
    assert_eq!(
        ids,
        [
            "gpt-4.1-mini",
            "gpt-4.1",
            "o4-mini",
            "claude-opus-4-1",
            "claude-sonnet-4-5"
        ]
    );
    // A listed model can be chosen, and its turns go to the provider that listed it.
    let created = json(s.create(json!({"model": "o4-mini"})).await).await;
    assert_eq!(created["model"], "o4-mini");
    s.say(created["conversation_id"].as_i64().unwrap(), "Hi").await;
    assert_eq!(s.openai.chat_requests()[0]["model"], "o4-mini");
    s.models().await;
    assert_eq!(s.openai.model_list_requests(), 1, "the list is cached");
}

#[tokio::test]
async fn a_conversations_model_reaches_its_provider() {
    let s = setup(&[]).await;
    s.claude.push(Reply::text("Bonjour from Claude").with_usage(12, 4));
    let created = s.create(json!({"title": "French", "model": "claude-opus-4-1"})).await;
    assert_eq!(created.status(), StatusCode::OK);
    let created = json(created).await;
    assert_eq!(created["model"], "claude-opus-4-1");
    let id = created["conversation_id"].as_i64().unwrap();
    let body = s.say(id, "Say hello in French").await;
    assert!(body.contains("Bonjour") && body.contains("Claude"), "{body}");
    let asked = s.claude.chat_requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["model"], "claude-opus-4-1");
    assert!(
        s.openai.chat_requests().is_empty(),
        "titled already: nothing for the default provider"
    );

    // PATCH switches the model of the next turns.
    let switched = s.patch(id, json!({"model": "gpt-4.1"})).await;
    assert_eq!(switched.status(), StatusCode::OK);
    let switched = json(switched).await;
    assert_eq!(
        (switched["model"].as_str(), switched["title"].as_str()),
        (Some("gpt-4.1"), Some("French"))
    );
    s.openai.push(Reply::text("Hello from GPT"));
    let body = s.say(id, "And in English?").await;
    assert!(body.contains("Hello") && body.contains("GPT"), "{body}");
    assert_eq!(s.openai.chat_requests()[0]["model"], "gpt-4.1");
    assert_eq!(s.claude.chat_requests().len(), 1);

    // Null goes back to the default model; a title and a model change together.
    let reset = json(s.patch(id, json!({"model": null, "title": "Greetings"})).await).await;
    assert_eq!(
        (reset["model"].clone(), reset["title"].clone()),
        (Value::Null, json!("Greetings"))
    );
    s.say(id, "Once more").await;
    assert_eq!(s.openai.chat_requests()[1]["model"], "gpt-4.1-mini");
    let listed = json(s.call(reqwest::Method::GET, "/conversations").send().await.unwrap()).await;
    assert_eq!(listed["conversations"][0]["model"], Value::Null);
}

#[tokio::test]
async fn unknown_models_are_refused_with_a_reason() {
    let s = setup(&[]).await;
    // Unknown: a conflict with what this server is configured with; too long: bad input.
    for (body, status) in [
        (json!({"model": "gpt-5-ultra"}), StatusCode::CONFLICT),
        (json!({"model": "x".repeat(201)}), StatusCode::BAD_REQUEST),
    ] {
        let resp = s.create(body).await;
        assert_eq!(resp.status(), status);
        let detail = json(resp).await["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("model"), "{detail}");
    }
    let resp = s.create(json!({"model": "gpt-5-ultra"})).await;
    let detail = json(resp).await["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("Unknown model \"gpt-5-ultra\"") && detail.contains("GET /models"),
        "{detail}"
    );
    let listed = json(s.call(reqwest::Method::GET, "/conversations").send().await.unwrap()).await;
    assert_eq!(listed["conversations"], json!([]), "nothing created");

    let id = json(s.create(json!({"model": "claude-sonnet-4-5"})).await).await["conversation_id"]
        .as_i64()
        .unwrap();
    let resp = s.patch(id, json!({"model": "gpt-5-ultra"})).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(json(resp).await["detail"].as_str().unwrap().contains("Unknown model"));
    let resp = s.patch(id, json!({})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp).await["detail"], "Title is required");
    let kept = json(
        s.call(reqwest::Method::GET, &format!("/conversations/{id}/messages"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(kept["messages"].as_array().unwrap().is_empty());
    let (other, other_token) = s.app.other_user("bob@example.com").await;
    let _ = other;
    let resp = reqwest::Client::new()
        .patch(s.app.url(&format!("/conversations/{id}")))
        .bearer_auth(other_token.expose())
        .json(&json!({"model": "gpt-4.1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "someone else's conversation");
}

#[tokio::test]
async fn without_a_model_nothing_can_be_chosen() {
    let app = spawn_app_with(&[]).await;
    let (_, token) = app.other_user("ada@example.com").await;
    let client = reqwest::Client::new();
    let models = json(
        client
            .get(app.url("/models"))
            .bearer_auth(token.expose())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(models, json!({"default": null, "models": []}));
    let resp = client
        .post(app.url("/conversations"))
        .bearer_auth(token.expose())
        .json(&json!({"model": "gpt-4.1-mini"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
}

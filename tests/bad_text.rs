//! Text with U+0000 (which PostgreSQL cannot store and SQLite can) gets the same clear 400 on
//! both databases, in every field a person writes, and nothing is stored.

mod common;

use common::{TestApp, json, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const NUL_TITLE: &str = "Trip\u{0}plans";

async fn refuses_nul_everywhere(app: &TestApp) {
    let b = app.local_browser().await;
    let refused_as = |resp: reqwest::Response, says: &'static str| async move {
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let detail = json(resp).await["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains(says), "{detail}");
    };
    let refused = |resp: reqwest::Response| refused_as(resp, "U+0000");
    refused(
        b.post(app.url("/conversations"))
            .json(&json!({"title": NUL_TITLE}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let conv = json(
        b.post(app.url("/conversations"))
            .json(&json!({"title": "Trip"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = conv["conversation_id"].as_i64().unwrap();
    refused(
        b.patch(app.url(&format!("/conversations/{id}")))
            .json(&json!({"title": NUL_TITLE}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // A client_message_id is a key of plain characters: U+0000 is one of the characters refused.
    for (body, says) in [
        (json!({"content": "hello\u{0}"}), "U+0000"),
        (
            json!({"content": "hello", "client_message_id": "key\u{0}"}),
            "client_message_id",
        ),
    ] {
        refused_as(
            b.post(app.url(&format!("/conversations/{id}/messages")))
                .json(&body)
                .send()
                .await
                .unwrap(),
            says,
        )
        .await;
    }
    refused(
        b.post(app.url("/memories"))
            .json(&json!({"content": "My dog\u{0} is Rex"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let messages: Value = json(
        b.get(app.url(&format!("/conversations/{id}/messages")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(messages["messages"], json!([]), "nothing was stored: {messages}");
    let conversations = json(b.get(app.url("/conversations")).send().await.unwrap()).await;
    let listed = conversations.as_array().or(conversations["conversations"].as_array());
    assert_eq!(listed.map(Vec::len), Some(1), "only the valid one: {conversations}");
}

#[tokio::test]
async fn nul_is_refused_on_sqlite() {
    refuses_nul_everywhere(&spawn_app().await).await;
}

#[tokio::test]
async fn nul_is_refused_on_postgres() {
    let admin_url = meai_testkit::need::postgres_url();
    let name = format!("meai_bad_text_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(&admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    let mut url = reqwest::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    {
        let app = spawn_app_with(&[("DATABASE_URL", url.as_str())]).await;
        refuses_nul_everywhere(&app).await;
    }
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}

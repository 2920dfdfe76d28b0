//! `GET /conversations/search`: hybrid search over the signed-in user's messages only.

mod common;

use common::{json, spawn_app};
use meai_core::{Message, MessageKind, NewMessage, Title, UserId};
use reqwest::StatusCode;

async fn say(app: &common::TestApp, user: UserId, title: &str, texts: &[&str]) -> Vec<Message> {
    let c = app
        .state
        .store
        .create_conversation(user, Some(&Title::parse(title).unwrap()))
        .await
        .unwrap();
    let mut out = Vec::new();
    for t in texts {
        out.push(
            app.state
                .store
                .append_message(user, c.id, &NewMessage::new(MessageKind::Human, *t))
                .await
                .unwrap(),
        );
    }
    app.state.memory.index(&out).await.unwrap();
    out
}

async fn search(app: &common::TestApp, token: &str, query: &str) -> (StatusCode, serde_json::Value) {
    let resp = reqwest::Client::new()
        .get(app.url("/conversations/search"))
        .query(&[("q", query), ("limit", "10")])
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or_default())
}

#[tokio::test]
async fn finds_the_users_messages_best_first_and_never_another_users() {
    let app = spawn_app().await;
    let (alice, alice_token) = app.other_user("alice@example.com").await;
    let (bob, bob_token) = app.other_user("bob@example.com").await;
    say(
        &app,
        alice.id,
        "Trip planning",
        &["Book the Lisbon trip for May", "Buy sunscreen"],
    )
    .await;
    say(&app, alice.id, "Pets", &["My cat Whiskers loves tuna"]).await;
    say(&app, bob.id, "Bob's trip", &["The Lisbon trip budget is secret"]).await;

    let (status, body) = search(&app, alice_token.expose(), "lisbon trip").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "only Alice's matching message: {body}");
    assert_eq!(results[0]["content"], "Book the Lisbon trip for May");
    assert_eq!(results[0]["conversation_title"], "Trip planning");
    assert_eq!(results[0]["type"], "Human");
    assert!(results[0]["score"].as_f64().unwrap() > 0.5, "{body}");
    assert!(
        results[0]["similarity"].as_f64().is_some(),
        "the vector search found it too: {body}"
    );

    let (_, body) = search(&app, bob_token.expose(), "lisbon").await;
    let contents: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["The Lisbon trip budget is secret"]);

    let (_, body) = search(&app, alice_token.expose(), "whiskers").await;
    assert_eq!(body["results"][0]["conversation_title"], "Pets");
}

#[tokio::test]
async fn validates_its_parameters_and_requires_a_session() {
    let app = spawn_app().await;
    let (_, token) = app.other_user("carol@example.com").await;
    let (status, body) = search(&app, token.expose(), "   ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().is_some(), "{body}");
    let resp = reqwest::get(app.url("/conversations/search?q=x")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The static path does not clash with /conversations/{conversation_id}.
    let browser = app.local_browser().await;
    let resp = browser
        .get(app.url("/conversations/search/?q=nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["results"], serde_json::json!([]));
}

//! The conversation endpoints over HTTP: exact shapes, statuses and isolation, against the app
//! built over the mock adapters (the SQL store is held to the same rules by the Store contract).

mod common;

use common::{TestApp, json, spawn_mock_app};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn full_conversation_lifecycle_with_original_shapes() {
    let app = mock_app().await;
    let b = app.local_browser().await;

    // The frontend calls the list without the trailing slash; the original path has it.
    let empty = json(b.get(app.url("/conversations")).send().await.unwrap()).await;
    assert_eq!(empty, json!({"conversations": []}));

    let created = b
        .post(app.url("/conversations/"))
        .json(&json!({"title": "Trip"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let c = json(created).await;
    assert_eq!(
        keys(&c),
        [
            "conversation_id",
            "created_at",
            // An addition (issue 14): the chosen chat model, null for the default one.
            "model",
            "summary_text",
            "title",
            "updated_at",
            "user_id"
        ]
    );
    assert_eq!(c["title"], "Trip");
    assert!(c["summary_text"].is_null());
    assert!(c["model"].is_null());
    let id = c["conversation_id"].as_i64().unwrap();

    // No body at all, as a bare fetch POST sends.
    let untitled = json(b.post(app.url("/conversations")).send().await.unwrap()).await;
    assert!(untitled["title"].is_null());

    let renamed = b
        .patch(app.url(&format!("/conversations/{id}")))
        .json(&json!({"title": "Trip to Rome"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(json(renamed).await["title"], "Trip to Rome");

    // Messages: written by the core (the chat turn comes through Socket.IO), listed over REST.
    let user = app
        .state
        .sessions
        .current_user(&claims_of(&app, &b).await)
        .await
        .unwrap();
    let conv = meai_core::ConversationId(id);
    for (kind, text) in [
        (meai_core::MessageKind::Human, "hi"),
        (meai_core::MessageKind::Ai, "hello!"),
    ] {
        app.state
            .store
            .append_message(user.id, conv, &meai_core::NewMessage::new(kind, text))
            .await
            .unwrap();
    }
    let msgs = json(
        b.get(app.url(&format!("/conversations/{id}/messages")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let list = msgs["messages"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["type"], "Human");
    assert_eq!(list[1]["type"], "AI");
    assert_eq!(list[1]["content"], "hello!");
    assert_eq!(
        keys(&list[0]),
        [
            "content",
            "conversation_id",
            "created_at",
            "message_id",
            // Additions (issue 14): its place in the conversation's tree.
            "parent_id",
            "sibling_ids",
            "type",
            "user_id"
        ]
    );
    assert!(list[0]["parent_id"].is_null());
    assert_eq!(list[1]["parent_id"], list[0]["message_id"]);
    assert_eq!(list[1]["sibling_ids"], json!([list[1]["message_id"]]));

    // The answer (a leaf): deleting the question would take its answer with it.
    let mid = list[1]["message_id"].as_i64().unwrap();
    let del = b
        .delete(app.url(&format!("/conversations/{id}/messages/{mid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::OK);
    let msgs = json(
        b.get(app.url(&format!("/conversations/{id}/messages/")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(msgs["messages"].as_array().unwrap().len(), 1);

    // Most recently active first: the renamed conversation got a message after the untitled one.
    let listed = json(b.get(app.url("/conversations/")).send().await.unwrap()).await;
    let ids: Vec<_> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversation_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id, untitled["conversation_id"].as_i64().unwrap()]);

    let gone = b.delete(app.url(&format!("/conversations/{id}"))).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::OK);
    let after = b
        .get(app.url(&format!("/conversations/{id}/messages")))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(after).await, json!({"detail": "Conversation not found"}));
}

/// The object's field names, sorted (serde_json may or may not keep their order).
fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

async fn claims_of(app: &common::TestApp, browser: &reqwest::Client) -> meai_core::session::SessionClaims {
    // The bearer endpoint proves the browser's session and hands us a token to decode.
    let t = json(browser.post(app.url("/auth/token")).send().await.unwrap()).await;
    app.state
        .sessions
        .authenticate(t["access_token"].as_str().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn title_is_required_when_renaming() {
    let app = mock_app().await;
    let b = app.local_browser().await;
    let c = json(b.post(app.url("/conversations")).json(&json!({})).send().await.unwrap()).await;
    let path = app.url(&format!("/conversations/{}", c["conversation_id"]));
    for body in [json!({}), json!({"title": null}), json!({"title": "   "})] {
        let r = b.patch(&path).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(json(r).await, json!({"detail": "Title is required"}));
    }
    let long = "x".repeat(256);
    let r = b.patch(&path).json(&json!({"title": long})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn another_users_ids_are_not_found() {
    let app = mock_app().await;
    let a = app.local_browser().await;
    let c = json(
        a.post(app.url("/conversations"))
            .json(&json!({"title": "mine"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = c["conversation_id"].as_i64().unwrap();
    let owner = app
        .state
        .sessions
        .current_user(&claims_of(&app, &a).await)
        .await
        .unwrap();
    let m = app
        .state
        .store
        .append_message(
            owner.id,
            meai_core::ConversationId(id),
            &meai_core::NewMessage::new(meai_core::MessageKind::Human, "secret"),
        )
        .await
        .unwrap();

    let (_, token) = app.other_user("mallory@example.com").await;
    let bearer = format!("Bearer {}", token.expose());
    let http = reqwest::Client::new();
    let cases = [
        (reqwest::Method::GET, format!("/conversations/{id}/messages")),
        (reqwest::Method::PATCH, format!("/conversations/{id}")),
        (
            reqwest::Method::DELETE,
            format!("/conversations/{id}/messages/{}", m.id),
        ),
        (reqwest::Method::DELETE, format!("/conversations/{id}")),
    ];
    for (method, path) in cases {
        let r = http
            .request(method.clone(), app.url(&path))
            .header("Authorization", &bearer)
            .json(&json!({"title": "pwned"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    let theirs = json(
        http.get(app.url("/conversations"))
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(theirs, json!({"conversations": []}));
    // The owner's data is untouched.
    let msgs = json(
        a.get(app.url(&format!("/conversations/{id}/messages")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(msgs["messages"][0]["content"], "secret");
    let mine = json(a.get(app.url("/conversations")).send().await.unwrap()).await;
    assert_eq!(mine["conversations"][0]["title"], "mine");
}

#[tokio::test]
async fn lists_paginate_with_limit_and_before() {
    let app = mock_app().await;
    let b = app.local_browser().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let c = json(
            b.post(app.url("/conversations"))
                .json(&json!({"title": format!("c{i}")}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        ids.push(c["conversation_id"].as_i64().unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let first = json(b.get(app.url("/conversations?limit=2")).send().await.unwrap()).await;
    let got: Vec<_> = first["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversation_id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, [ids[3], ids[2]]);
    let next = json(
        b.get(app.url(&format!("/conversations?limit=2&before={}", ids[2])))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let got: Vec<_> = next["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversation_id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, [ids[1], ids[0]]);
    let bad = b.get(app.url("/conversations?limit=0")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(json(bad).await["detail"].is_string());
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let app = mock_app().await;
    let b = app.local_browser().await;
    let r = b
        .get(app.url("/conversations/not-a-number/messages"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r).await["detail"].is_string());

    let r = b
        .post(app.url("/conversations"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r).await["detail"].is_string());

    let huge = format!("{{\"title\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = b
        .post(app.url("/conversations"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(r).await, json!({"detail": "Request body too large"}));

    let r = b.get(app.url("/no/such/route")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await, json!({"detail": "Not Found"}));

    let r = b.get(app.url("/conversations/999999/messages")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await, json!({"detail": "Conversation not found"}));
}

#[tokio::test]
async fn unauthenticated_requests_get_401() {
    let app = mock_app().await;
    let http = reqwest::Client::new();
    for path in ["/conversations", "/conversations/1/messages", "/auth/me"] {
        let r = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(json(r).await, json!({"detail": "Not authenticated"}));
    }
    let r = http
        .get(app.url("/conversations"))
        .header("Cookie", "session=garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .get(app.url("/conversations"))
        .header("Authorization", "Bearer garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn mock_app() -> TestApp {
    spawn_mock_app(&[], |adapters| adapters).await
}

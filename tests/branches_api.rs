//! Branches over HTTP: regenerate an answer and edit a question (both streamed as SSE like a
//! new message), read the tree, switch the branch shown, delete a subtree; against the app over
//! SQLite with an OpenAI wire fake.

mod common;

use common::sse::frames;
use common::{TestApp, json, spawn_app_with};
use meai_core::{ConversationId, Title};
use meai_testkit::openai::{FakeOpenAi, Reply};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Chat {
    app: TestApp,
    fake: FakeOpenAi,
    token: String,
    conv: ConversationId,
}

impl Chat {
    async fn new() -> Self {
        let fake = FakeOpenAi::start().await;
        let app = spawn_app_with(&[
            ("MODEL", "openai"),
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &fake.base_url()),
        ])
        .await;
        let (user, token) = app.other_user("ada@example.com").await;
        // Titled: no background title request takes a scripted reply.
        let title = Title::parse("Branches").unwrap();
        let conv = app.state.conversations.create(user.id, Some(title)).await.unwrap().id;
        let token = token.expose().to_owned();
        Self { app, fake, token, conv }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = self.app.url(&format!("/conversations/{}{path}", self.conv.0));
        reqwest::Client::new().request(method, url).bearer_auth(&self.token)
    }

    /// The SSE answer's `assistant` text, checking it ends with `last_chunk`.
    async fn streamed(&self, resp: reqwest::Response) -> String {
        assert_eq!(resp.status(), StatusCode::OK);
        let body = resp.text().await.unwrap();
        let frames = frames(&body);
        assert_eq!(frames.last().map(|f| f.event.as_str()), Some("last_chunk"), "{body}");
        frames
            .iter()
            .filter(|f| f.event == "assistant")
            .filter_map(|f| f.data["content"].as_str())
            .collect()
    }

    async fn send(&self, content: &str) -> String {
        let resp = self
            .request(reqwest::Method::POST, "/messages")
            .json(&json!({"content": content}))
            .send()
            .await
            .unwrap();
        self.streamed(resp).await
    }

    /// The branch shown: (type, content, parent_id, sibling_ids, message_id) per message.
    async fn shown(&self) -> Vec<Value> {
        let list = json(self.request(reqwest::Method::GET, "/messages").send().await.unwrap()).await;
        list["messages"].as_array().unwrap().clone()
    }
}

fn ids(list: &[Value]) -> Vec<i64> {
    list.iter().map(|m| m["message_id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn answers_are_regenerated_questions_edited_and_branches_switched() {
    let chat = Chat::new().await;
    chat.fake.push_when("colour", Reply::text("Red."));
    chat.fake.push_when("colour", Reply::chunks(["Bl", "ue."]));
    chat.fake.push_when("fruit", Reply::text("Apple."));
    assert_eq!(chat.send("Name a colour").await, "Red.");
    let first = chat.shown().await;
    let (question, red) = (ids(&first)[0], ids(&first)[1]);

    // Regenerate: a second answer beside the first, shown.
    let resp = chat
        .request(reqwest::Method::POST, &format!("/messages/{red}/regenerate"))
        .send()
        .await
        .unwrap();
    assert_eq!(chat.streamed(resp).await, "Blue.");
    let after = chat.shown().await;
    assert_eq!(after.len(), 2);
    let blue = ids(&after)[1];
    assert_eq!(after[1]["content"], "Blue.");
    assert_eq!(after[1]["parent_id"], question);
    assert_eq!(after[1]["sibling_ids"], json!([red, blue]));
    assert_eq!(after[0]["sibling_ids"], json!([question]));
    // The model was asked the question again, without the answer it replaces.
    let asked = chat.fake.chat_requests().last().unwrap().to_string();
    assert!(asked.contains("Name a colour") && !asked.contains("Red."), "{asked}");

    // Switch back to the first answer.
    let switched = chat
        .request(reqwest::Method::PUT, "/active")
        .json(&json!({"message_id": red}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(switched).await, json!({"active_leaf_id": red}));
    assert_eq!(ids(&chat.shown().await), vec![question, red]);

    // Edit the question: a sibling of it, answered on its own branch.
    let resp = chat
        .request(reqwest::Method::PATCH, &format!("/messages/{question}"))
        .json(&json!({"content": "Name a fruit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(chat.streamed(resp).await, "Apple.");
    let edited = chat.shown().await;
    assert_eq!(edited.len(), 2);
    assert_eq!(edited[0]["content"], "Name a fruit");
    assert!(edited[0]["parent_id"].is_null());
    let fruit = ids(&edited)[0];
    assert_eq!(edited[0]["sibling_ids"], json!([question, fruit]));
    let asked = chat.fake.chat_requests().last().unwrap().to_string();
    assert!(
        !asked.contains("colour"),
        "the edit's context is its own branch: {asked}"
    );

    // The whole tree, and the branch shown.
    let tree = json(chat.request(reqwest::Method::GET, "/tree").send().await.unwrap()).await;
    assert_eq!(tree["active_leaf_id"], ids(&edited)[1]);
    assert_eq!(tree["messages"].as_array().unwrap().len(), 5);
    let page = json(
        chat.request(reqwest::Method::GET, "/tree?limit=2")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(page["messages"].as_array().unwrap()), vec![question, red]);
    assert_eq!(page["next_after"], red);

    // Switching to the first question shows its newest answer.
    let back = chat
        .request(reqwest::Method::PUT, "/active")
        .json(&json!({"message_id": question}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(back).await["active_leaf_id"], blue);

    // Deleting the first question takes both its answers; the edit's branch is shown.
    let del = chat
        .request(reqwest::Method::DELETE, &format!("/messages/{question}"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::OK);
    let tree = json(chat.request(reqwest::Method::GET, "/tree").send().await.unwrap()).await;
    assert_eq!(tree["messages"].as_array().unwrap().len(), 2);
    assert_eq!(ids(&chat.shown().await), ids(&edited));
}

#[tokio::test]
async fn wrong_targets_are_refused_with_clear_errors() {
    let chat = Chat::new().await;
    chat.send("Hello").await;
    let list = chat.shown().await;
    let (question, answer) = (ids(&list)[0], ids(&list)[1]);
    let edit = |id: i64| {
        chat.request(reqwest::Method::PATCH, &format!("/messages/{id}"))
            .json(&json!({"content": "Hi"}))
    };
    let regenerate = |id: i64| chat.request(reqwest::Method::POST, &format!("/messages/{id}/regenerate"));
    let refused = |r: reqwest::Response| async move { (r.status(), json(r).await["detail"].clone()) };
    let (status, detail) = refused(edit(answer).send().await.unwrap()).await;
    assert_eq!(
        (status, detail),
        (StatusCode::CONFLICT, json!("Only a human message can be edited"))
    );
    let (status, detail) = refused(regenerate(question).send().await.unwrap()).await;
    assert_eq!(
        (status, detail),
        (StatusCode::CONFLICT, json!("Only an AI message can be regenerated"))
    );
    let (status, detail) = refused(regenerate(answer + 1000).send().await.unwrap()).await;
    assert_eq!((status, detail), (StatusCode::NOT_FOUND, json!("Message not found")));
    let switch = chat
        .request(reqwest::Method::PUT, "/active")
        .json(&json!({"message_id": answer + 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.status(), StatusCode::NOT_FOUND);
    let blank = chat
        .request(reqwest::Method::PATCH, &format!("/messages/{question}"))
        .json(&json!({"content": "   "}))
        .send()
        .await
        .unwrap();
    assert_eq!(blank.status(), StatusCode::BAD_REQUEST);

    // Someone else's conversation: not found, nothing changed.
    let (_, other) = chat.app.other_user("mallory@example.com").await;
    let url = chat
        .app
        .url(&format!("/conversations/{}/messages/{answer}/regenerate", chat.conv.0));
    let foreign = reqwest::Client::new()
        .post(url)
        .bearer_auth(other.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let url = chat.app.url(&format!("/conversations/{}/tree", chat.conv.0));
    let foreign = reqwest::Client::new()
        .get(url)
        .bearer_auth(other.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_eq!(ids(&chat.shown().await), vec![question, answer]);
}

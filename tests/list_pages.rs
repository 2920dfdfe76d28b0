//! Lists are bounded pages: without `limit` the frontend gets the latest 100 conversations and
//! the latest 200 messages (the original shape when everything fits one page), and
//! `next_before` leads to the rest, whatever a user has.

mod common;

use common::{TestApp, json, spawn_mock_app};
use meai_core::{MessageKind, NewMessage};
use serde_json::Value;

fn ids(list: &Value, key: &str, id: &str) -> Vec<i64> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[id].as_i64().unwrap())
        .collect()
}

async fn get(app: &TestApp, browser: &reqwest::Client, path: &str) -> Value {
    json(browser.get(app.url(path)).send().await.unwrap()).await
}

#[tokio::test]
async fn conversations_come_in_pages_of_100_and_next_before_reaches_the_rest() {
    let app = spawn_mock_app(&[], |a| a).await;
    let b = app.local_browser().await;
    let me = get(&app, &b, "/auth/me").await["user_id"].as_i64().unwrap();
    for _ in 0..105 {
        app.state
            .conversations
            .create(meai_core::UserId(me), None)
            .await
            .unwrap();
    }
    let first = get(&app, &b, "/conversations").await;
    let first_ids = ids(&first, "conversations", "conversation_id");
    assert_eq!(first_ids.len(), 100, "the default page");
    assert_eq!(first["next_before"], *first_ids.last().unwrap());
    let rest = get(&app, &b, &format!("/conversations?before={}", first["next_before"])).await;
    let rest_ids = ids(&rest, "conversations", "conversation_id");
    assert_eq!(rest_ids.len(), 5);
    assert!(rest.get("next_before").is_none(), "the last page: {rest}");
    let mut all: Vec<i64> = first_ids.into_iter().chain(rest_ids).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 105, "every conversation once");
    // An explicit size pages the same way.
    let two = get(&app, &b, "/conversations?limit=2").await;
    assert_eq!(ids(&two, "conversations", "conversation_id").len(), 2);
    assert!(two["next_before"].is_i64());
}

#[tokio::test]
async fn messages_come_as_the_latest_200_and_next_before_reaches_older_ones() {
    let app = spawn_mock_app(&[], |a| a).await;
    let b = app.local_browser().await;
    let me = meai_core::UserId(get(&app, &b, "/auth/me").await["user_id"].as_i64().unwrap());
    let conv = app.state.conversations.create(me, None).await.unwrap().id;
    for i in 0..205 {
        let m = NewMessage::new(MessageKind::Human, format!("m{i}"));
        app.state.store.append_message(me, conv, &m).await.unwrap();
    }
    let path = format!("/conversations/{}/messages", conv.0);
    let latest = get(&app, &b, &path).await;
    let contents: Vec<&str> = latest["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents.len(), 200);
    assert_eq!((contents[0], contents[199]), ("m5", "m204"), "the latest, oldest first");
    let older = get(&app, &b, &format!("{path}?before={}", latest["next_before"])).await;
    let older_ids = ids(&older, "messages", "message_id");
    assert_eq!(older_ids.len(), 5);
    assert_eq!(older["messages"][4]["content"], "m4");
    assert!(older.get("next_before").is_none(), "nothing older: {older}");
}

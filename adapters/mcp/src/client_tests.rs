//! The client's own reconnection, which rmcp's session renewal does not cover: a session whose
//! transport has ended. Against the same Node server as the integration tests.

#[path = "../tests/common/mod.rs"]
mod common;

use super::*;
use common::NodeServer;
use serde_json::json;

const CALL: Duration = Duration::from_secs(10);

fn end_transport(client: &McpClient) {
    let session = client.current();
    session.service.cancellation_token().cancel();
}

async fn wait_closed(client: &McpClient) {
    for _ in 0..100 {
        if client.current().is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the session did not close");
}

#[tokio::test]
async fn a_closed_session_is_replaced_before_the_next_request() {
    let server = NodeServer::start();
    let client = McpClient::connect(&server.config("notes")).await.unwrap();
    assert_eq!(client.current().generation, 1);

    end_transport(&client);
    wait_closed(&client).await;
    let found = client
        .call_tool("notes_search", json!({"query": "milk"}), CALL)
        .await
        .unwrap();
    assert_eq!(found.text, "1 note(s) match 'milk': groceries");
    assert_eq!(client.current().generation, 2);
    assert_eq!(server.stats().await["initialize"], 2);

    end_transport(&client);
    wait_closed(&client).await;
    assert_eq!(client.list_tools().await.unwrap().len(), 8);
    assert_eq!(client.current().generation, 3);
}

#[tokio::test]
async fn concurrent_callers_reconnect_once() {
    let server = NodeServer::start();
    let client = McpClient::connect(&server.config("notes")).await.unwrap();
    end_transport(&client);
    wait_closed(&client).await;
    let calls = (0..4).map(|_| client.call_tool("notes_search", json!({"query": "eggs"}), CALL));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().text, "1 note(s) match 'eggs': groceries");
    }
    assert_eq!(client.current().generation, 2);
    assert_eq!(server.stats().await["initialize"], 2);
}

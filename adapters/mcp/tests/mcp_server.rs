//! meai-mcp against a real MCP server (the official TypeScript SDK over Streamable HTTP).
//! Needs `npm ci` in tests/server; talks to loopback only.

mod common;

use common::NodeServer;
use meai_mcp::ssrf::AddrClass;
use meai_mcp::{McpClient, McpError, McpServerConfig, McpToolkit, ToolNamespace, UrlRefused};
use serde_json::json;
use std::time::{Duration, Instant};

const CALL: Duration = Duration::from_secs(10);

async fn connect(server: &NodeServer) -> McpClient {
    McpClient::connect(&server.config("notes")).await.expect("connect")
}

#[tokio::test]
async fn connects_and_lists_every_page_of_tools_with_their_hints() {
    let server = NodeServer::start();
    let client = connect(&server).await;
    assert_eq!(client.protocol_version().as_deref(), Some("2025-11-25"));
    assert_eq!(
        client.server_info(),
        Some(("meai-test-notes".to_owned(), "1.0.0".to_owned()))
    );

    let tools = client.list_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "notes_search",
            "notes_write",
            "slow",
            "fails",
            "picture",
            "mixed",
            "structured",
            "big"
        ]
    );
    // Two tools a page: four pages, four requests.
    assert_eq!(server.method_count("tools/list").await, 4);

    let search = &tools[0];
    assert_eq!(search.description, "Search the person's notes by a word.");
    assert_eq!(search.input_schema["properties"]["query"]["type"], "string");
    assert_eq!(search.input_schema["required"], json!(["query"]));
    assert_eq!(search.annotations.title.as_deref(), Some("Search notes"));
    assert_eq!(search.annotations.read_only, Some(true));
    assert_eq!(search.annotations.open_world, Some(false));
    assert_eq!(search.annotations.destructive, None);

    let write = &tools[1];
    assert_eq!(write.annotations.read_only, Some(false));
    assert_eq!(write.annotations.destructive, Some(false));
    assert_eq!(write.annotations.idempotent, Some(false));
    assert_eq!(
        tools[3].annotations,
        Default::default(),
        "a tool without hints has none"
    );

    let stats = server.stats().await;
    assert_eq!(stats["clientNames"], json!(["meai"]));
    assert_eq!(stats["protocolVersions"], json!(["2025-11-25"]));
    assert_eq!(stats["methods"]["notifications/initialized"], 1, "{stats}");
}

#[tokio::test]
async fn calls_a_read_only_tool_and_a_writing_one() {
    let server = NodeServer::start();
    let client = connect(&server).await;

    let found = client
        .call_tool("notes_search", json!({"query": "coffee"}), CALL)
        .await
        .unwrap();
    assert_eq!(found.text, "2 note(s) match 'coffee': groceries, coffee beans");
    assert!(!found.truncated);

    let saved = client
        .call_tool(
            "notes_write",
            json!({"title": "plants", "body": "water the fern"}),
            CALL,
        )
        .await
        .unwrap();
    assert_eq!(saved.text, "saved note 'plants'");
    assert_eq!(
        server.stats().await["writes"],
        json!([{"title": "plants", "body": "water the fern"}])
    );
    let found = client
        .call_tool("notes_search", json!({"query": "fern"}), CALL)
        .await
        .unwrap();
    assert_eq!(found.text, "1 note(s) match 'fern': plants");

    let err = client
        .call_tool("notes_search", json!(["not", "an", "object"]), CALL)
        .await
        .unwrap_err();
    assert!(matches!(err, McpError::ToolFailed(_)), "{err:?}");
}

#[tokio::test]
async fn a_failing_tool_is_a_tool_failure_with_its_message() {
    let server = NodeServer::start();
    let client = connect(&server).await;
    let err = client
        .call_tool("fails", json!({"reason": "disk full"}), CALL)
        .await
        .unwrap_err();
    assert_eq!(err, McpError::ToolFailed("the notes service is down: disk full".into()));
    assert_eq!(err.to_string(), "the notes service is down: disk full");
}

#[tokio::test]
async fn a_slow_call_times_out_is_cancelled_on_the_server_and_the_client_still_works() {
    let server = NodeServer::start();
    let client = connect(&server).await;
    let started = Instant::now();
    let err = client
        .call_tool("slow", json!({"ms": 10_000}), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err, McpError::Timeout(Duration::from_millis(300)));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );

    // The same session answers the next call.
    let quick = client.call_tool("slow", json!({"ms": 10}), CALL).await.unwrap();
    assert_eq!(quick.text, "slept 10 ms");

    // rmcp told the server (notifications/cancelled), which aborted the handler.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = server.stats().await;
        if stats["cancelled"] == 1 && stats["methods"]["notifications/cancelled"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never saw the cancellation: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.stats().await["initialize"], 1, "no new session was needed");
}

#[tokio::test]
async fn content_that_is_not_text_is_described() {
    let server = NodeServer::start();
    let client = connect(&server).await;

    let picture = client.call_tool("picture", json!({}), CALL).await.unwrap();
    assert_eq!(
        picture.text,
        "[image: image/png, 70 bytes]\n[resource: file:///pictures/cat.png (cat.png, image/png)]"
    );

    let mixed = client.call_tool("mixed", json!({}), CALL).await.unwrap();
    assert_eq!(
        mixed.text,
        "[audio: audio/wav, 300 bytes]\n[resource: note://groceries]\nmilk, eggs, coffee\n\
         [resource: file:///report.pdf (application/pdf, 10 bytes)]"
    );

    let structured = client.call_tool("structured", json!({}), CALL).await.unwrap();
    assert_eq!(structured.structured, Some(json!({"total": 2, "items": ["a", "b"]})));
    let rendered: serde_json::Value = serde_json::from_str(&structured.text).unwrap();
    assert_eq!(rendered, json!({"total": 2, "items": ["a", "b"]}));

    let big = client.call_tool("big", json!({"chars": 50_000}), CALL).await.unwrap();
    assert!(big.truncated);
    assert_eq!(big.text.len(), meai_mcp::MAX_RESULT_CHARS + " ... [truncated]".len());
}

#[tokio::test]
async fn the_bearer_token_and_headers_are_sent() {
    let server = NodeServer::start_with(&["--token", "right-token-123"]);
    let config = server
        .config("notes")
        .with_bearer_token("right-token-123")
        .with_header("x-test-header", "header-value-789");
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("right-token-123") && !debug.contains("header-value-789"),
        "{debug}"
    );

    let client = McpClient::connect(&config).await.unwrap();
    assert_eq!(client.list_tools().await.unwrap().len(), 8);
    let stats = server.stats().await;
    let seen = stats["testHeaders"].as_array().unwrap();
    assert!(
        !seen.is_empty() && seen.iter().all(|v| v == "header-value-789"),
        "{stats}"
    );
    assert!(
        stats["userAgents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.as_str().unwrap().starts_with("meai/")),
        "{stats}"
    );
    assert!(!format!("{client:?}").contains("right-token-123"));
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_unauthorized_and_never_repeated() {
    let server = NodeServer::start_with(&["--token", "right-token-123"]);

    // The server echoes the wrong token in its 401 body: the error must not.
    let wrong = server.config("notes").with_bearer_token("wrong-token-456");
    let err = McpClient::connect(&wrong).await.unwrap_err();
    assert!(matches!(err, McpError::Unauthorized(_)), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("wrong-token-456"), "{text}");
        assert!(!text.contains("right-token-123"), "{text}");
    }
    assert!(err.to_string().contains("[redacted]"), "the echo was scrubbed: {err}");

    let missing = server.config("notes");
    let err = McpClient::connect(&missing).await.unwrap_err();
    assert!(matches!(err, McpError::Unauthorized(_)), "{err:?}");
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable_within_the_connect_timeout() {
    // Nothing listens on the port any more: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = McpServerConfig::new("down", format!("http://127.0.0.1:{port}/mcp"))
        .allow_private(true)
        .with_connect_timeout(Duration::from_secs(2));
    let started = Instant::now();
    let err = McpClient::connect(&config).await.unwrap_err();
    assert!(matches!(err, McpError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );

    // Accepts connections but never answers: cut off by the connect timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let config = McpServerConfig::new("silent", format!("http://{addr}/mcp"))
        .allow_private(true)
        .with_connect_timeout(Duration::from_millis(800));
    let started = Instant::now();
    let err = McpClient::connect(&config).await.unwrap_err();
    assert!(matches!(err, McpError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );

    // As a toolkit: an error to log and skip, then the same error without trying again.
    let toolkit = McpToolkit::new(config);
    assert!(toolkit.tools().await.unwrap_err().is_unavailable());
    let started = Instant::now();
    assert!(toolkit.tools().await.unwrap_err().is_unavailable());
    assert!(started.elapsed() < Duration::from_millis(100), "retried at once");
    hold.abort();
}

#[tokio::test]
async fn the_tool_list_is_cached_for_its_ttl() {
    let server = NodeServer::start();
    let toolkit = McpToolkit::new(server.config("notes")).with_tools_ttl(Duration::from_millis(700));
    assert_eq!(meai_mcp::DEFAULT_TOOLS_TTL, Duration::from_secs(300));

    assert_eq!(toolkit.tools().await.unwrap().len(), 8);
    assert_eq!(server.method_count("tools/list").await, 4);
    // Within the TTL: no request at all.
    assert_eq!(toolkit.tools().await.unwrap().len(), 8);
    assert_eq!(server.method_count("tools/list").await, 4);
    // Calls reuse the session the listing opened.
    let found = toolkit
        .call_tool("notes_search", json!({"query": "dentist"}), CALL)
        .await
        .unwrap();
    assert_eq!(found.text, "1 note(s) match 'dentist': dentist");

    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(toolkit.tools().await.unwrap().len(), 8);
    assert_eq!(
        server.method_count("tools/list").await,
        8,
        "fetched again after the TTL"
    );

    toolkit.invalidate().await;
    toolkit.tools().await.unwrap();
    assert_eq!(server.method_count("tools/list").await, 12);
    assert_eq!(server.stats().await["initialize"], 1);
}

#[tokio::test]
async fn a_dropped_session_is_renewed_transparently() {
    let server = NodeServer::start();
    let client = connect(&server).await;
    client.list_tools().await.unwrap();

    server.drop_sessions().await;
    let found = client
        .call_tool("notes_search", json!({"query": "milk"}), CALL)
        .await
        .unwrap();
    assert_eq!(found.text, "1 note(s) match 'milk': groceries");
    assert_eq!(server.stats().await["initialize"], 2, "one new session");

    server.drop_sessions().await;
    assert_eq!(client.list_tools().await.unwrap().len(), 8);
    assert_eq!(server.stats().await["initialize"], 3);
}

#[tokio::test]
async fn the_same_tool_on_two_servers_gets_distinct_names_that_map_back() {
    let work = NodeServer::start();
    let home = NodeServer::start();
    let toolkits = [
        McpToolkit::new(work.config("work")),
        McpToolkit::new(home.config("home")),
    ];
    let mut names = ToolNamespace::new();
    let mut offered = Vec::new();
    for toolkit in &toolkits {
        for tool in toolkit.tools().await.unwrap().iter() {
            let name = names.insert(&toolkit.config().name, &tool.name);
            assert_eq!(name, toolkit.model_tool_name(&tool.name));
            offered.push(name);
        }
    }
    assert_eq!(offered.len(), 16);
    let mut unique = offered.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 16, "{offered:?}");
    assert!(offered.contains(&"mcp_work__notes_write".to_owned()));

    // A model's call goes back to the right server.
    let (server, tool) = names.resolve("mcp_home__notes_write").unwrap();
    assert_eq!((server, tool), ("home", "notes_write"));
    let toolkit = toolkits.iter().find(|t| t.config().name == server).unwrap();
    toolkit
        .call_tool(tool, json!({"title": "t", "body": "b"}), CALL)
        .await
        .unwrap();
    assert_eq!(home.stats().await["writes"], json!([{"title": "t", "body": "b"}]));
    assert_eq!(work.stats().await["writes"], json!([]));
}

#[tokio::test]
async fn the_ssrf_guard_refuses_loopback_unless_private_is_allowed() {
    let server = NodeServer::start();
    let config = server.config("notes").allow_private(false);
    let err = McpClient::connect(&config).await.unwrap_err();
    assert!(
        matches!(
            err,
            McpError::Refused(UrlRefused::Address {
                class: AddrClass::Loopback,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(server.stats().await["initialize"], 0, "nothing was sent");

    // By name too, through the resolver pinned to the checked addresses.
    let by_name = server.url.replace("127.0.0.1", "localhost");
    let config = McpServerConfig::new("notes", &by_name).allow_private(false);
    assert!(matches!(McpClient::connect(&config).await, Err(McpError::Refused(_))));
    let client = McpClient::connect(&config.allow_private(true)).await.unwrap();
    assert_eq!(client.list_tools().await.unwrap().len(), 8);
}

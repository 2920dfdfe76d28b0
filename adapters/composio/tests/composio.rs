//! The Composio adapter against the wire-level fake (`meai_testkit::composio`).

use meai_composio::{ComposioConfig, ComposioToolkits};
use meai_core::toolkits::{AccountStatus, ToolkitError, Toolkits};
use meai_core::{ToolkitSlug, UserId};
use meai_testkit::composio::{API_KEY, FakeComposio, Fault};
use serde_json::json;
use std::time::Duration;

const USER: UserId = UserId(7);

fn config(fake: &FakeComposio) -> ComposioConfig {
    let mut c = ComposioConfig::new(API_KEY)
        .with_base_url(&fake.base_url())
        .with_callback_url("http://frontend.test/done");
    c.max_retry_wait = Duration::from_secs(2);
    c
}

fn client(fake: &FakeComposio) -> ComposioToolkits {
    ComposioToolkits::new(config(fake)).unwrap()
}

fn slugs(names: &[&str]) -> Vec<ToolkitSlug> {
    names.iter().map(|n| ToolkitSlug::parse(n).unwrap()).collect()
}

#[tokio::test]
async fn lists_tools_of_toolkits_with_the_latest_versions_and_caches_them() {
    let fake = FakeComposio::start().await;
    let composio = client(&fake);
    let tools = composio.tools(&slugs(&["GMAIL", "NOTION"])).await.unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "GMAIL_FETCH_EMAILS",
            "GMAIL_SEND_EMAIL",
            "GMAIL_CREATE_EMAIL_DRAFT",
            "GMAIL_CREATE_LABEL",
            "NOTION_CREATE_PAGE"
        ]
    );
    assert_eq!(tools[1].parameters["required"], json!(["recipient_email", "body"]));
    // Composio's behaviour tags become the tools' hints; the toolkit is Composio's, upper-case.
    assert!(tools[0].hints.is_read_only(), "{:?}", tools[0].hints);
    assert_eq!(tools[0].hints.idempotent, Some(true));
    assert_eq!(tools[1].hints.read_only, Some(false), "a send tool writes");
    assert_eq!(tools[1].hints.open_world, Some(true));
    assert_eq!(
        (tools[1].toolkit(), tools[4].toolkit()),
        ("GMAIL".into(), "NOTION".into())
    );
    let sent = &fake.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.prefix.as_str(), sent.path.as_str()),
        ("GET", "/api/v3", "/tools")
    );
    assert_eq!(sent.query["toolkit_slug"], "gmail,notion");
    assert_eq!(sent.query["toolkit_versions"], "latest");
    assert_eq!(sent.api_key.as_deref(), Some(API_KEY));

    // Cached: no second request, also when asking for a subset.
    composio.tools(&slugs(&["NOTION"])).await.unwrap();
    composio.tools(&slugs(&["GMAIL", "NOTION"])).await.unwrap();
    assert_eq!(fake.count("GET", "/tools"), 1);
}

#[tokio::test]
async fn tool_specs_are_fetched_again_after_their_ttl() {
    let fake = FakeComposio::start().await;
    let mut c = config(&fake);
    c.tools_ttl = Duration::from_millis(50);
    let composio = ComposioToolkits::new(c).unwrap();
    composio.tools(&slugs(&["GMAIL"])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    composio.tools(&slugs(&["GMAIL"])).await.unwrap();
    assert_eq!(fake.count("GET", "/tools"), 2);

    // Expired and Composio down: the stale list still serves.
    tokio::time::sleep(Duration::from_millis(80)).await;
    for _ in 0..3 {
        fake.inject(Fault::server_error(503));
    }
    assert_eq!(composio.tools(&slugs(&["GMAIL"])).await.unwrap().len(), 4);
}

#[tokio::test]
async fn gets_one_tool() {
    let fake = FakeComposio::start().await;
    let composio = client(&fake);
    assert_eq!(
        composio.tool("GMAIL_SEND_EMAIL").await.unwrap().name,
        "GMAIL_SEND_EMAIL"
    );
    assert!(matches!(
        composio.tool("NOPE_TOOL").await,
        Err(ToolkitError::NotFound(_))
    ));
    assert_eq!(fake.requests()[0].query["toolkit_versions"], "latest");
}

#[tokio::test]
async fn executes_a_tool_for_the_user_with_the_version_sent() {
    let fake = FakeComposio::start().await;
    fake.add_account("7", "gmail", "ACTIVE");
    fake.set_tool_result("GMAIL_SEND_EMAIL", json!({"id": "msg_1"}));
    let composio = client(&fake);
    let args = json!({"recipient_email": "bob@example.com", "body": "Hi"});
    let data = composio.execute(USER, "GMAIL_SEND_EMAIL", &args).await.unwrap();
    assert_eq!(data, json!({"id": "msg_1"}));
    let sent = fake.requests().pop().unwrap();
    assert_eq!(sent.path, "/tools/execute/GMAIL_SEND_EMAIL");
    assert_eq!(
        sent.body,
        json!({"arguments": args, "user_id": "7", "version": "latest"})
    );
}

#[tokio::test]
async fn a_tool_that_reports_failure_with_http_200_is_an_error() {
    let fake = FakeComposio::start().await;
    fake.add_account("7", "gmail", "ACTIVE");
    fake.fail_tool("GMAIL_FETCH_EMAILS", "Invalid query syntax");
    let err = client(&fake)
        .execute(USER, "GMAIL_FETCH_EMAILS", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err, ToolkitError::ToolFailed("Invalid query syntax".into()));
}

#[tokio::test]
async fn no_connected_account_is_its_own_error() {
    let fake = FakeComposio::start().await;
    let err = client(&fake)
        .execute(USER, "GMAIL_FETCH_EMAILS", &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolkitError::NoConnectedAccount(ref m) if m == "No connected account found"),
        "{err:?}"
    );
}

#[tokio::test]
async fn retries_a_rate_limit_after_the_wait_composio_asks_for() {
    let fake = FakeComposio::start().await;
    fake.inject(Fault::rate_limited(1));
    let started = std::time::Instant::now();
    let tools = client(&fake).tools(&slugs(&["NOTION"])).await.unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(fake.count("GET", "/tools"), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was not honoured"
    );
}

#[tokio::test]
async fn a_rate_limit_beyond_the_bound_is_reported_with_its_retry_after() {
    let fake = FakeComposio::start().await;
    fake.inject(Fault::rate_limited(120));
    let err = client(&fake).tools(&slugs(&["NOTION"])).await.unwrap_err();
    assert_eq!(
        err,
        ToolkitError::RateLimited {
            retry_after: Some(Duration::from_secs(120))
        }
    );
    assert_eq!(fake.count("GET", "/tools"), 1);

    // Still limited after every retry: reported, retries bounded.
    for _ in 0..3 {
        fake.inject(Fault::rate_limited_silently());
    }
    let err = client(&fake).tools(&slugs(&["GMAIL"])).await.unwrap_err();
    assert_eq!(err, ToolkitError::RateLimited { retry_after: None });
    assert_eq!(fake.count("GET", "/tools"), 4);
}

#[tokio::test]
async fn server_errors_are_retried_on_reads_but_not_on_executions() {
    let fake = FakeComposio::start().await;
    fake.add_account("7", "gmail", "ACTIVE");
    fake.inject(Fault::server_error(503));
    fake.inject(Fault::server_error(500));
    assert_eq!(client(&fake).tools(&slugs(&["GMAIL"])).await.unwrap().len(), 4);
    assert_eq!(fake.count("GET", "/tools"), 3);

    for _ in 0..3 {
        fake.inject(Fault::server_error(502));
    }
    let err = client(&fake).tools(&slugs(&["NOTION"])).await.unwrap_err();
    assert!(
        matches!(err, ToolkitError::Unavailable(ref m) if m.contains("502")),
        "{err:?}"
    );

    // An execution might have happened before the 5xx: it is not sent twice.
    fake.inject(Fault::server_error(502));
    let err = client(&fake)
        .execute(USER, "GMAIL_SEND_EMAIL", &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolkitError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.count("POST", "/tools/execute"), 1);
}

#[tokio::test]
async fn initiates_through_connect_link() {
    let fake = FakeComposio::start().await;
    fake.auth_config("ac_gmail", "gmail");
    let request = client(&fake).initiate(USER, "ac_gmail").await.unwrap();
    assert!(request.id.starts_with("ca_"));
    assert!(request.redirect_url.unwrap().contains("/link/"));
    assert_eq!(request.status, AccountStatus::Initiated);
    let sent = fake.requests().pop().unwrap();
    assert_eq!(sent.path, "/connected_accounts/link");
    assert_eq!(
        sent.body,
        json!({"auth_config_id": "ac_gmail", "user_id": "7", "callback_url": "http://frontend.test/done"})
    );
}

#[tokio::test]
async fn falls_back_to_the_legacy_initiate_without_connect_link() {
    let fake = FakeComposio::start().await;
    fake.auth_config("ac_gmail", "gmail");
    fake.set_link_enabled(false);
    let request = client(&fake).initiate(USER, "ac_gmail").await.unwrap();
    assert!(request.redirect_url.unwrap().contains("/oauth/"));
    let sent = fake.requests().pop().unwrap();
    assert_eq!(sent.path, "/connected_accounts");
    assert_eq!(sent.body["auth_config"]["id"], "ac_gmail");
    assert_eq!(sent.body["connection"]["user_id"], "7");
}

#[tokio::test]
async fn an_unknown_auth_config_is_a_bad_request() {
    let fake = FakeComposio::start().await;
    let err = client(&fake).initiate(USER, "ac_nope").await.unwrap_err();
    assert!(
        matches!(err, ToolkitError::BadRequest(ref m) if m.contains("ac_nope")),
        "{err:?}"
    );
}

#[tokio::test]
async fn reads_connected_accounts() {
    let fake = FakeComposio::start().await;
    let id = fake.add_account("7", "gmail", "INITIATED");
    fake.add_account("8", "notion", "ACTIVE");
    fake.set_status(&id, "FAILED", Some("User denied access"));
    let composio = client(&fake);
    let account = composio.account(&id).await.unwrap();
    assert_eq!(account.status, AccountStatus::Failed);
    assert_eq!(account.status_reason.as_deref(), Some("User denied access"));
    assert_eq!(account.toolkit.unwrap().as_str(), "GMAIL");
    let mine = composio.accounts(USER).await.unwrap();
    assert_eq!(mine.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    assert_eq!(fake.requests().pop().unwrap().query["user_ids"], "7");
    assert!(matches!(
        composio.account("ca_missing").await,
        Err(ToolkitError::NotFound(_))
    ));
    assert!(matches!(
        composio.account("../tools").await,
        Err(ToolkitError::NotFound(_))
    ));
}

#[tokio::test]
async fn the_v3_1_prefix_is_selected_by_the_base_url() {
    let fake = FakeComposio::start().await;
    let c = ComposioConfig::new(API_KEY).with_base_url(&format!("{}/api/v3.1", fake.base_url()));
    ComposioToolkits::new(c)
        .unwrap()
        .tools(&slugs(&["GMAIL"]))
        .await
        .unwrap();
    assert_eq!(fake.requests()[0].prefix, "/api/v3.1");
}

#[tokio::test]
async fn a_refused_key_is_an_upstream_error_that_does_not_show_the_key() {
    let fake = FakeComposio::start().await;
    let c = ComposioConfig::new("ak_wrong_secret_value").with_base_url(&fake.base_url());
    let composio = ComposioToolkits::new(c).unwrap();
    let err = composio.tools(&slugs(&["GMAIL"])).await.unwrap_err();
    assert!(matches!(err, ToolkitError::Upstream(_)), "{err:?}");
    assert!(!err.to_string().contains("ak_wrong") && !format!("{composio:?}").contains("ak_wrong"));
}

#[tokio::test]
async fn an_unreachable_backend_is_unavailable() {
    let mut c = ComposioConfig::new(API_KEY).with_base_url("http://127.0.0.1:9");
    c.max_retries = 1;
    c.max_retry_wait = Duration::from_millis(10);
    let err = ComposioToolkits::new(c)
        .unwrap()
        .tools(&slugs(&["GMAIL"]))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolkitError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn deletes_connected_accounts_and_revokes_them_on_v3_1() {
    let fake = FakeComposio::start().await;
    let first = fake.add_account("7", "gmail", "ACTIVE");
    let second = fake.add_account("7", "notion", "ACTIVE");
    let kept = fake.add_account("8", "gmail", "ACTIVE");
    let v3 = client(&fake);
    v3.delete_account(&first).await.unwrap();
    let sent = fake.requests().pop().unwrap();
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("DELETE", &*format!("/connected_accounts/{first}"))
    );
    assert!(
        !sent.query.contains_key("revoke_on_delete"),
        "v3 knows no revocation flag"
    );
    assert!(
        matches!(v3.delete_account(&first).await, Err(ToolkitError::NotFound(_))),
        "an account already gone"
    );
    let c = ComposioConfig::new(API_KEY).with_base_url(&format!("{}/api/v3.1", fake.base_url()));
    ComposioToolkits::new(c).unwrap().delete_account(&second).await.unwrap();
    assert_eq!(fake.requests().pop().unwrap().query["revoke_on_delete"], "true");
    let left: Vec<String> = fake.accounts().into_iter().map(|a| a.id).collect();
    assert_eq!(left, vec![kept], "only the other user's account is left");
    assert!(matches!(
        v3.delete_account("../tools").await,
        Err(ToolkitError::NotFound(_))
    ));
}

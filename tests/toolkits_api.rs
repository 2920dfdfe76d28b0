//! The toolkit endpoints over HTTP, against the fake Composio server.

mod common;

use common::{TestApp, json, spawn_app, spawn_app_with};
use meai_testkit::composio::{API_KEY, FakeComposio, Fault};
use reqwest::StatusCode;
use serde_json::Value;

async fn app_with_composio(fake: &FakeComposio) -> TestApp {
    fake.auth_config("ac_gmail", "gmail");
    let base = fake.base_url();
    spawn_app_with(&[
        ("COMPOSIO_API_KEY", API_KEY),
        ("COMPOSIO_BASE_URL", &base),
        ("GMAIL_AUTH_CONFIG_ID", "ac_gmail"),
        // Not registered at the fake: Composio refuses it.
        ("GOOGLE_CALENDAR_AUTH_CONFIG_ID", "ac_unknown"),
    ])
    .await
}

/// Connects GMAIL for the browser's user; returns the connection request id.
async fn connect_gmail(app: &TestApp, browser: &reqwest::Client) -> String {
    let resp = browser.post(app.url("/toolkits/connect/gmail")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json(resp).await;
    assert_eq!(body["status"], "pending");
    assert!(body["redirect_url"].as_str().unwrap().contains("/link/"));
    body["connection_request_id"].as_str().unwrap().to_owned()
}

async fn sync(app: &TestApp, browser: &reqwest::Client, request_id: &str) -> Value {
    let resp = browser
        .post(app.url(&format!("/toolkits/connections/sync/{request_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    json(resp).await
}

#[tokio::test]
async fn lists_the_supported_toolkits() {
    let fake = FakeComposio::start().await;
    let app = app_with_composio(&fake).await;
    let browser = app.local_browser().await;
    let me = json(browser.get(app.url("/auth/me")).send().await.unwrap()).await;
    let body = json(browser.get(app.url("/toolkits/")).send().await.unwrap()).await;
    assert_eq!(
        body["toolkits"],
        serde_json::json!([
            "GOOGLECALENDAR",
            "NOTION",
            "SLACKBOT",
            "GMAIL",
            "GOOGLETASKS",
            "TWITTER"
        ])
    );
    assert_eq!(body["user_id"], me["user_id"]);
}

/// Without Composio (the default local setup), what the frontend reads on every page load
/// answers what is true with 200; only the actions that need Composio answer 503.
#[tokio::test]
async fn without_composio_reads_say_so_and_only_composio_actions_are_unavailable() {
    let app = spawn_app().await;
    let browser = app.local_browser().await;
    let me = json(browser.get(app.url("/auth/me")).send().await.unwrap()).await;
    let toolkits = browser.get(app.url("/toolkits/")).send().await.unwrap();
    assert_eq!(toolkits.status(), StatusCode::OK);
    assert_eq!(
        json(toolkits).await,
        serde_json::json!({"toolkits": [], "user_id": me["user_id"], "configured": false})
    );
    let connections = browser.get(app.url("/toolkits/connections")).send().await.unwrap();
    assert_eq!(connections.status(), StatusCode::OK);
    assert_eq!(
        json(connections).await,
        serde_json::json!({"connections": [], "total_count": 0, "configured": false})
    );
    for resp in [
        browser
            .get(app.url("/toolkits/connections/GMAIL"))
            .send()
            .await
            .unwrap(),
        browser.delete(app.url("/toolkits/disable/GMAIL")).send().await.unwrap(),
    ] {
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "there is no connection");
        assert!(
            json(resp).await["detail"]
                .as_str()
                .unwrap()
                .contains("Toolkits are not configured")
        );
    }
    for resp in [
        browser.post(app.url("/toolkits/connect/GMAIL")).send().await.unwrap(),
        browser.post(app.url("/toolkits/enable/GMAIL")).send().await.unwrap(),
        browser
            .post(app.url("/toolkits/connections/sync/ca_1"))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(json(resp).await["detail"], "Toolkits are not configured");
    }
}

#[tokio::test]
async fn toolkit_endpoints_require_sign_in() {
    let fake = FakeComposio::start().await;
    let app = app_with_composio(&fake).await;
    let resp = reqwest::Client::new()
        .get(app.url("/toolkits/connections"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn connect_then_sync_through_every_status() {
    let fake = FakeComposio::start().await;
    let app = app_with_composio(&fake).await;
    let browser = app.local_browser().await;
    let me = json(browser.get(app.url("/auth/me")).send().await.unwrap()).await;
    let request_id = connect_gmail(&app, &browser).await;

    // Composio got the user's id and the configured auth config.
    let account = fake.accounts().pop().unwrap();
    assert_eq!(account.id, request_id);
    assert_eq!(account.user_id, me["user_id"].to_string());
    assert_eq!(account.auth_config_id, "ac_gmail");

    let stored = json(
        browser
            .get(app.url("/toolkits/connections/GMAIL"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stored["toolkit_slug"], "GMAIL");
    assert_eq!(stored["connection_status"], "pending");
    assert_eq!(stored["auth_config_id"], "ac_gmail");
    assert_eq!(stored["connection_request_id"], request_id.as_str());
    assert_eq!(stored["user_id"], me["user_id"]);

    for (status, reason, expected, message) in [
        ("INITIATED", None, "pending", None),
        ("INITIALIZING", None, "pending", None),
        ("ACTIVE", None, "active", None),
        (
            "FAILED",
            Some("User denied access"),
            "failed",
            Some("User denied access"),
        ),
        ("EXPIRED", None, "failed", Some("Connection expired")),
        ("INACTIVE", None, "failed", Some("Connection inactive")),
        ("REVOKED", None, "failed", Some("Connection revoked")),
        ("ACTIVE", None, "active", None),
    ] {
        fake.set_status(&request_id, status, reason);
        let synced = sync(&app, &browser, &request_id).await;
        assert_eq!(synced["success"], true);
        assert_eq!(synced["connection_status"], expected, "{status}");
        assert!(synced["last_synced_at"].is_string());
        let stored = json(
            browser
                .get(app.url("/toolkits/connections/gmail"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(stored["connection_status"], expected, "{status}");
        assert_eq!(stored["error_message"].as_str(), message, "{status}");
        if expected == "active" {
            assert_eq!(stored["connected_account_id"], request_id.as_str());
        }
    }

    let list = json(browser.get(app.url("/toolkits/connections")).send().await.unwrap()).await;
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["connections"][0]["toolkit_slug"], "GMAIL");
}

#[tokio::test]
async fn unsupported_and_unconfigured_toolkits_are_not_found() {
    let fake = FakeComposio::start().await;
    let app = app_with_composio(&fake).await;
    let browser = app.local_browser().await;
    let resp = browser.post(app.url("/toolkits/connect/github")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(
        json(resp).await["detail"]
            .as_str()
            .unwrap()
            .contains("Unsupported toolkit")
    );
    let resp = browser.post(app.url("/toolkits/connect/notion")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(json(resp).await["detail"].as_str().unwrap().contains("auth config"));
    assert!(fake.requests().is_empty(), "nothing reached Composio");

    let resp = browser
        .get(app.url("/toolkits/connections/NOTION"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn disable_stops_a_toolkit_and_enable_brings_it_back_after_checking_composio() {
    let fake = FakeComposio::start().await;
    let app = app_with_composio(&fake).await;
    let browser = app.local_browser().await;
    let status = |b: &reqwest::Client| {
        let req = b.get(app.url("/toolkits/connections/GMAIL"));
        async move { json(req.send().await.unwrap()).await["connection_status"].clone() }
    };

    // Nothing to enable or disable yet.
    let resp = browser.post(app.url("/toolkits/enable/gmail")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = browser.delete(app.url("/toolkits/disable/gmail")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let request_id = connect_gmail(&app, &browser).await;
    // Not authorized at Composio yet: enabling is refused and the connection stays pending.
    let resp = browser.post(app.url("/toolkits/enable/GMAIL")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(status(&browser).await, "pending");

    fake.set_status(&request_id, "ACTIVE", None);
    let resp = browser.post(app.url("/toolkits/enable/gmail")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["message"], "Toolkit GMAIL enabled");
    assert_eq!(status(&browser).await, "active");

    let resp = browser.delete(app.url("/toolkits/disable/Gmail")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["message"], "Toolkit GMAIL disabled");
    assert_eq!(status(&browser).await, "disconnected");
    // A sync reports; it does not switch a disabled toolkit back on.
    assert_eq!(
        sync(&app, &browser, &request_id).await["connection_status"],
        "disconnected"
    );

    let resp = browser.post(app.url("/toolkits/enable/gmail")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(status(&browser).await, "active");

    // Revoked at Composio meanwhile: enabling fails and says why.
    fake.set_status(&request_id, "REVOKED", None);
    let resp = browser.post(app.url("/toolkits/enable/gmail")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(status(&browser).await, "failed");
}

#[tokio::test]
async fn another_user_cannot_sync_or_read_a_connection() {
    let fake = FakeComposio::start().await;
    let app = app_with_composio(&fake).await;
    let browser = app.local_browser().await;
    let request_id = connect_gmail(&app, &browser).await;
    fake.set_status(&request_id, "ACTIVE", None);

    let (_, token) = app.other_user("mallory@example.com").await;
    let bearer = format!("Bearer {}", token.expose());
    let http = reqwest::Client::new();
    let resp = http
        .post(app.url(&format!("/toolkits/connections/sync/{request_id}")))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = http
        .get(app.url("/toolkits/connections/GMAIL"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let list = json(
        http.get(app.url("/toolkits/connections"))
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total_count"], 0);
    let resp = http
        .post(app.url("/toolkits/enable/GMAIL"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // The owner's connection is untouched.
    let stored = json(
        browser
            .get(app.url("/toolkits/connections/GMAIL"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stored["connection_status"], "pending");
}

#[tokio::test]
async fn composio_failures_become_429_502_and_503() {
    let fake = FakeComposio::start().await;
    let app = app_with_composio(&fake).await;
    let browser = app.local_browser().await;

    fake.inject(Fault::rate_limited(120));
    let resp = browser.post(app.url("/toolkits/connect/gmail")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "120");
    assert!(json(resp).await["detail"].as_str().unwrap().contains("rate limit"));

    for _ in 0..3 {
        fake.inject(Fault::server_error(503));
    }
    let resp = browser.post(app.url("/toolkits/connect/gmail")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(resp).await["detail"], "Composio is unavailable, try again later");

    let resp = browser
        .post(app.url("/toolkits/connect/googlecalendar"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let detail = json(resp).await["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("ac_unknown") && !detail.contains(API_KEY), "{detail}");

    // Nothing was stored by the failed attempts.
    let list = json(browser.get(app.url("/toolkits/connections")).send().await.unwrap()).await;
    assert_eq!(list["total_count"], 0);
}

//! The checked-in spec must be exactly what the code generates, and the server must serve it.

mod common;

#[test]
fn checked_in_spec_matches_the_code() {
    let generated = meai::http::spec_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, format!("{generated}\n")).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).expect("openapi/openapi.json exists");
    assert!(
        checked_in.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: regenerate with `cargo run -- openapi > openapi/openapi.json` \
         (or UPDATE_OPENAPI=1 cargo test --test openapi_spec)"
    );
}

#[tokio::test]
async fn server_serves_the_spec_and_docs() {
    let app = common::spawn_app().await;
    let spec: serde_json::Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        spec,
        serde_json::from_str::<serde_json::Value>(&meai::http::spec_json()).unwrap()
    );
    for path in [
        "/conversations",
        "/conversations/{conversation_id}",
        "/auth/me",
        "/auth/logout",
        "/health",
    ] {
        assert!(spec["paths"][path].is_object(), "{path} missing from the spec");
    }
    assert!(spec["components"]["securitySchemes"]["SessionCookie"].is_object());
    let docs = reqwest::get(app.url("/docs")).await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("openapi"));
}

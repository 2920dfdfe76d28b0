//! The HTTP edge: REST API (poem-openapi, which also generates the spec), docs and middleware.

mod auth;
mod chat;
mod conversations;
mod cookie;
mod detail;
mod error;
mod meta;
mod metrics;
mod middleware;
mod optional_json;
mod session;
mod toolkits;

use crate::state::AppState;
use poem::middleware::{Cors, NormalizePath, TrailingSlash};
use poem::{EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};

pub use error::ApiError;

#[derive(Tags)]
pub enum ApiTags {
    /// Service information and probes
    Meta,
    /// Sign-in, sessions and the current user
    Auth,
    /// Conversations and their messages
    Conversations,
    /// Connected toolkits (Composio)
    Toolkits,
}

/// The OpenAPI service over every API area; also what `meai openapi` prints.
pub fn api_service() -> OpenApiService<(meta::MetaApi, auth::AuthApi, conversations::ConversationsApi, chat::ChatApi, toolkits::ToolkitsApi), ()> {
    OpenApiService::new((meta::MetaApi, auth::AuthApi, conversations::ConversationsApi, chat::ChatApi, toolkits::ToolkitsApi), "meAI", env!("CARGO_PKG_VERSION"))
        .description("Backend of the meAI personal assistant: conversations, streaming answers and connected toolkits.")
}

/// The generated spec as served at `/openapi.json` and checked in as `openapi/openapi.json`.
pub fn spec_json() -> String {
    api_service().spec()
}

/// The complete HTTP application.
pub fn app(state: AppState) -> impl poem::Endpoint + 'static {
    let api = api_service();
    let docs = api.scalar();
    let spec = api.spec_endpoint();
    let cors = state
        .config
        .allowed_origins()
        .fold(Cors::new(), |cors, origin| cors.allow_origin(origin))
        .allow_credentials(true)
        .allow_methods(["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"])
        .allow_headers(["content-type", "authorization", "x-request-id"])
        .expose_headers(["x-request-id"]);
    let max_body = state.config.max_body_bytes;
    Route::new()
        // Socket.IO handles its own paths under /socket.io (nest would strip them).
        .nest_no_strip("/socket.io", crate::socket::endpoint(&state))
        .nest("/", api)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .at("/metrics", metrics::metrics_endpoint)
        .with(NormalizePath::new(TrailingSlash::Trim))
        .with(crate::limits::AuthRateLimit(state.ops.limits.clone()))
        .with(middleware::BodyLimit::new(max_body))
        .with(poem::middleware::CookieJarManager::new())
        .with(cors)
        .data(state)
        .catch_all_error(detail::error_response)
        .with(middleware::Observe)
}

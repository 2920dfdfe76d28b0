//! The HTTP edge: REST API (poem-openapi, which also generates the spec), docs and middleware.

mod account;
mod actions;
mod allow;
mod approvals;
mod archive;
mod auth;
mod branches;
mod chat;
mod conversations;
mod cookie;
mod day;
mod detail;
mod error;
mod mcp_servers;
mod memories;
mod merged;
mod meta;
mod metrics;
mod middleware;
mod models;
mod optional_json;
mod search;
mod session;
mod spec;
pub(crate) mod text;
mod tool_policies;
mod toolkits;
mod typed_json;
mod usage;

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
    /// Connected toolkits (Composio) and MCP servers
    Toolkits,
    /// What the assistant remembers about the person, which they can see and correct
    Memories,
    /// The person's data: export everything, import (meAI or ChatGPT)
    Data,
    /// Consent: tool policies, approvals of tool calls, and the action log
    Consent,
}

/// Every API area; [`merged::Merged`] gives each path one entry in the spec.
type Apis = merged::Merged<(
    meta::MetaApi,
    auth::AuthApi,
    conversations::ConversationsApi,
    models::ModelsApi,
    usage::UsageApi,
    chat::ChatApi,
    branches::BranchesApi,
    toolkits::ToolkitsApi,
    search::SearchApi,
    memories::MemoriesApi,
    archive::ArchiveApi,
    account::AccountApi,
    approvals::ApprovalsApi,
    tool_policies::ToolPoliciesApi,
    actions::ActionsApi,
    mcp_servers::McpServersApi,
)>;

/// The spec's introduction (rendered at the top of `/docs`).
const API_DESCRIPTION: &str =
    "Backend of the meAI personal assistant: conversations, streaming answers and connected toolkits.

**Sign-in.** Browsers open `GET /auth/google`; the server sets the session cookie and sends them back to the frontend. \
API clients then call `POST /auth/token` and send `Authorization: Bearer <token>`. \
Every error is `{\"detail\": \"...\"}` with its status; paths work with and without a trailing slash.

**Answers in real time.** `POST /conversations/{conversation_id}/messages` streams the answer as Server-Sent Events. \
Browsers use Socket.IO (protocol v5) at path `/socket.io`, namespace `/conversations/stream`, authenticated by the \
session cookie (or `auth: {token}`): emit `join_conversation {conversation_id}` (answered by `joined {message}`) and \
`message {content, conversation_id}`; receive `assistant {role, content}` chunks, `tool {role, content}` progress, \
`error {error}`, and always a final `last_chunk {last_chunk: true}`. `edit {message_id, content}` (a new version of a \
question) and `regenerate {message_id}` (another answer) stream like `message`; each starts a branch, as \
`PATCH /conversations/{conversation_id}/messages/{message_id}` and `POST .../regenerate` do over SSE.

**Consent.** Tool calls that may write wait for the person: the answer streams the request as text, then \
`tool_approval {approval_id, conversation_id, toolkit, tool, arguments, summary}` (an SSE event too), and ends. \
Decide with `POST /conversations/{conversation_id}/approvals/{approval_id}` or the socket event \
`tool_decision {approval_id, decision: \"approve\"|\"deny\", arguments?, always_allow?}`; a plain \"yes\" as the next \
message approves too, any other message declines. `GET /actions` is the log of what was done.";

/// The OpenAPI service over every API area; also what `meai openapi` prints.
pub fn api_service() -> OpenApiService<Apis, ()> {
    let apis = (
        meta::MetaApi,
        auth::AuthApi,
        conversations::ConversationsApi,
        models::ModelsApi,
        usage::UsageApi,
        chat::ChatApi,
        branches::BranchesApi,
        toolkits::ToolkitsApi,
        search::SearchApi,
        memories::MemoriesApi,
        archive::ArchiveApi,
        account::AccountApi,
        approvals::ApprovalsApi,
        tool_policies::ToolPoliciesApi,
        actions::ActionsApi,
        mcp_servers::McpServersApi,
    );
    OpenApiService::new(merged::Merged(apis), "meAI", env!("CARGO_PKG_VERSION")).description(API_DESCRIPTION)
}

/// The generated spec as served at `/openapi.json` and checked in as `openapi/openapi.json`.
pub fn spec_json() -> String {
    spec::complete(&api_service().spec())
}

/// The complete HTTP application.
pub fn app(state: AppState) -> impl poem::Endpoint + 'static {
    let api = api_service();
    let docs = api.scalar();
    let spec_text = spec_json();
    let allow = allow::AllowHeader::from_spec(&spec_text);
    let spec = poem::endpoint::make_sync(move |_| {
        poem::IntoResponse::with_content_type(spec_text.clone(), "application/json; charset=utf-8")
    });
    let cors = state
        .config
        .allowed_origins()
        .fold(Cors::new(), |cors, origin| cors.allow_origin(origin))
        .allow_credentials(true)
        .allow_methods(["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"])
        .allow_headers(["content-type", "authorization", "x-request-id"])
        .expose_headers(["x-request-id"]);
    let max_body = state.config.max_body_bytes;
    let (max_uri, max_head) = (state.config.max_uri_bytes, state.config.max_header_bytes);
    Route::new()
        // Socket.IO handles its own paths under /socket.io (nest would strip them).
        .nest_no_strip("/socket.io", crate::socket::endpoint(&state))
        .nest("/", api)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .at("/metrics", metrics::metrics_endpoint)
        .with(NormalizePath::new(TrailingSlash::Trim))
        .with(crate::limits::AuthRateLimit(state.ops.limits.clone()))
        .with(middleware::BodyLimit::new(max_body).except("/import"))
        .with(poem::middleware::CookieJarManager::new())
        // Inside CORS too: with an `Origin` header poem's Cors answers errors in plain text
        // itself, so the outer catch would never see them.
        .catch_all_error(detail::error_response)
        // Inside CORS, so a browser can read the refusal.
        .with(middleware::HeadLimits::new(max_uri, max_head))
        .with(cors)
        .data(state)
        .catch_all_error(detail::error_response)
        .with(allow)
        .with(middleware::Observe)
}

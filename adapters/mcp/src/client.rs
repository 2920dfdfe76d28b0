//! A session with one MCP server over Streamable HTTP, on rmcp.
//!
//! rmcp does the protocol: the `initialize` / `notifications/initialized` handshake, JSON-RPC,
//! the session id, SSE, and one transparent re-initialization when the server answers 404 to
//! a stale session id. This adds what meAI needs around it: the SSRF guard and a pinned HTTP
//! client, credentials kept out of errors, timeouts (a timed-out call is cancelled on the
//! server), a new session when the old one is gone, and results as text for a model.

use crate::content::{self, McpToolOutput};
use crate::secret::scrub;
use crate::{McpError, McpServerConfig, Secret, ssrf};
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ErrorData, Implementation, PaginatedRequestParams,
    ProtocolVersion, Tool,
};
use rmcp::service::{ClientInitializeError, RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{StreamableHttpClientTransportConfig, StreamableHttpError};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The name meAI gives itself in `initialize`.
pub const CLIENT_NAME: &str = "meai";
/// Pages of `tools/list` followed at most; a server whose cursor never ends is cut off here.
const MAX_TOOL_PAGES: usize = 100;
/// Tools kept at most per server.
const MAX_TOOLS: usize = 1_000;

/// What a tool says about itself. Hints only: a server may lie, so the approval policy must
/// not trust them from servers it does not trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolHints {
    pub title: Option<String>,
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

/// A tool of an MCP server, under its own (not namespaced) name.
#[derive(Debug, Clone, PartialEq)]
pub struct McpTool {
    pub name: String,
    pub description: String,
    /// A JSON Schema object of the arguments.
    pub input_schema: Value,
    pub annotations: ToolHints,
}

impl From<Tool> for McpTool {
    fn from(tool: Tool) -> Self {
        let annotations = tool.annotations.unwrap_or_default();
        Self {
            name: tool.name.into_owned(),
            description: tool.description.map(|d| d.into_owned()).unwrap_or_default(),
            input_schema: Value::Object((*tool.input_schema).clone()),
            annotations: ToolHints {
                title: annotations.title.or(tool.title),
                read_only: annotations.read_only_hint,
                destructive: annotations.destructive_hint,
                idempotent: annotations.idempotent_hint,
                open_world: annotations.open_world_hint,
            },
        }
    }
}

struct Session {
    service: RunningService<RoleClient, ClientConfig>,
    /// Counts sessions, so concurrent callers that saw the same dead one reconnect only once.
    generation: u64,
}

impl Session {
    fn is_closed(&self) -> bool {
        self.service.is_closed() || self.service.peer().is_transport_closed()
    }
}

/// A connected MCP server. Cheap to share behind an `Arc`; calls may run concurrently.
pub struct McpClient {
    config: McpServerConfig,
    current: Mutex<Arc<Session>>,
    reconnecting: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl McpClient {
    /// Checks the URL, then opens a session (`initialize`, `notifications/initialized`), all
    /// within `config.connect_timeout`.
    pub async fn connect(config: &McpServerConfig) -> Result<Self, McpError> {
        let session = open_session(config, 1).await?;
        Ok(Self {
            config: config.clone(),
            current: Mutex::new(Arc::new(session)),
            reconnecting: tokio::sync::Mutex::new(()),
        })
    }

    pub fn config(&self) -> &McpServerConfig {
        &self.config
    }

    /// The protocol version agreed in `initialize`.
    pub fn protocol_version(&self) -> Option<String> {
        let session = self.current();
        let info = session.service.peer().peer_info()?;
        Some(info.protocol_version.to_string())
    }

    /// The server's name and version, as it gave them.
    pub fn server_info(&self) -> Option<(String, String)> {
        let session = self.current();
        let info = session.service.peer().peer_info()?;
        let server = info.server_info.as_ref()?;
        Some((server.name.clone(), server.version.clone()))
    }

    /// Every tool of the server, following `nextCursor` page by page, within `config.timeout`.
    pub async fn list_tools(&self) -> Result<Vec<McpTool>, McpError> {
        let session = self.session().await?;
        let timeout = self.config.timeout;
        let first = tokio::time::timeout(timeout, list_all(&session))
            .await
            .map_err(|_| McpError::Timeout(timeout))?;
        match first {
            // Listing has no effect on the server, so it is safe to repeat on a new session.
            Err(e) if session_lost(&e) => {
                tracing::info!(server = %self.config.name, error = %self.describe(&e), "MCP session lost; reconnecting");
                let session = self.reconnect(session.generation).await?;
                tokio::time::timeout(timeout, list_all(&session))
                    .await
                    .map_err(|_| McpError::Timeout(timeout))?
                    .map_err(|e| self.service_error(e, Call::List))
            }
            other => other.map_err(|e| self.service_error(e, Call::List)),
        }
    }

    /// Calls `name` with `arguments` (a JSON object, or null for none). After `timeout` the call
    /// is abandoned and the server told so (`notifications/cancelled`); the session stays usable.
    pub async fn call_tool(&self, name: &str, arguments: Value, timeout: Duration) -> Result<McpToolOutput, McpError> {
        let arguments = match arguments {
            Value::Object(map) => Some(map),
            Value::Null => None,
            _ => return Err(McpError::ToolFailed("the arguments must be a JSON object".into())),
        };
        let mut params = CallToolRequestParams::new(name.to_owned());
        params.arguments = arguments;
        let session = self.session().await?;
        let started = Instant::now();
        let result = match tokio::time::timeout(timeout, session.service.peer().call_tool(params.clone())).await {
            Err(_) => {
                tracing::warn!(server = %self.config.name, tool = name, ?timeout, "MCP tool call timed out; cancelled");
                return Err(McpError::Timeout(timeout));
            }
            // The server answered 404 to the session and rmcp could not renew it: the call never
            // ran there, so it is safe to send again on a new session. Other failures are not
            // retried, since the tool may have run.
            Ok(Err(e)) if session_expired(&e) => {
                tracing::info!(server = %self.config.name, tool = name, "MCP session expired; reconnecting");
                let session = self.reconnect(session.generation).await?;
                let left = timeout.saturating_sub(started.elapsed());
                tokio::time::timeout(left, session.service.peer().call_tool(params))
                    .await
                    .map_err(|_| McpError::Timeout(timeout))?
            }
            Ok(result) => result,
        };
        let result = result.map_err(|e| self.service_error(e, Call::Tool))?;
        tracing::debug!(server = %self.config.name, tool = name, elapsed_ms = started.elapsed().as_millis() as u64, is_error = ?result.is_error, "MCP tool called");
        let secrets: Vec<&Secret> = self.config.secrets().collect();
        content::render(result, &secrets).map_err(McpError::ToolFailed)
    }

    /// Ends the session (rmcp sends the HTTP DELETE that closes it on the server).
    pub async fn close(self) {
        let session = self.current();
        drop(self);
        if let Ok(mut session) = Arc::try_unwrap(session) {
            let _ = session.service.close_with_timeout(Duration::from_secs(5)).await;
        }
    }

    fn current(&self) -> Arc<Session> {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current session, or a new one when the old one's transport is gone (nothing was
    /// sent on it, so nothing can run twice).
    async fn session(&self) -> Result<Arc<Session>, McpError> {
        let session = self.current();
        if session.is_closed() {
            tracing::info!(server = %self.config.name, "MCP session closed; reconnecting");
            return self.reconnect(session.generation).await;
        }
        Ok(session)
    }

    async fn reconnect(&self, stale: u64) -> Result<Arc<Session>, McpError> {
        let _one_at_a_time = self.reconnecting.lock().await;
        let current = self.current();
        if current.generation != stale {
            return Ok(current);
        }
        let session = Arc::new(open_session(&self.config, stale + 1).await?);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = session.clone();
        Ok(session)
    }

    fn describe(&self, e: &ServiceError) -> String {
        scrub(&e.to_string(), self.config.secrets())
    }

    fn service_error(&self, e: ServiceError, call: Call) -> McpError {
        let error = match e {
            ServiceError::McpError(ErrorData { message, .. }) => match call {
                // A refused call (unknown tool, invalid arguments) is for the model to correct.
                Call::Tool => McpError::ToolFailed(message.into_owned()),
                Call::List => McpError::Protocol(message.into_owned()),
            },
            ServiceError::TransportSend(e) => transport_error(&*e.error),
            ServiceError::TransportClosed => McpError::Unavailable("the connection to the server closed".into()),
            ServiceError::Timeout { timeout } => McpError::Timeout(timeout),
            ServiceError::Cancelled { .. } => McpError::Unavailable("the request was cancelled".into()),
            ServiceError::UnexpectedResponse => McpError::Protocol("unexpected response type".into()),
            other => McpError::Protocol(other.to_string()),
        };
        scrub_error(error, &self.config)
    }
}

#[derive(Clone, Copy)]
enum Call {
    List,
    Tool,
}

async fn list_all(session: &Session) -> Result<Vec<McpTool>, ServiceError> {
    let peer = session.service.peer();
    let mut tools = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_TOOL_PAGES {
        let page = peer
            .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
            .await?;
        tools.extend(page.tools.into_iter().map(McpTool::from));
        if tools.len() >= MAX_TOOLS {
            tracing::warn!(
                kept = MAX_TOOLS,
                "MCP server lists too many tools; the rest are ignored"
            );
            tools.truncate(MAX_TOOLS);
            return Ok(tools);
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            return Ok(tools);
        }
    }
    tracing::warn!(
        pages = MAX_TOOL_PAGES,
        "MCP server's tool list does not end; the rest is ignored"
    );
    Ok(tools)
}

/// Checks the URL, builds a client pinned to the checked addresses and runs the handshake.
async fn open_session(config: &McpServerConfig, generation: u64) -> Result<Session, McpError> {
    let connect = async {
        let checked = ssrf::check_url(&config.url, config.allow_private).await?;
        let http = checked
            .http_client_builder()
            .connect_timeout(config.connect_timeout)
            .default_headers(headers(config)?)
            .user_agent(concat!("meai/", env!("CARGO_PKG_VERSION")))
            // As rmcp's own client: no idle pooling, avoiding delayed-ACK stalls on reuse.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| McpError::InvalidConfig(format!("HTTP client: {e}")))?;
        // Credentials travel as the client's default headers, so rmcp never holds them.
        let transport = StreamableHttpClientTransport::with_client(
            http,
            StreamableHttpClientTransportConfig::with_uri(checked.url().as_str()).reinit_on_expired_session(true),
        );
        let info = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new(CLIENT_NAME, env!("CARGO_PKG_VERSION")),
        )
        // The newest revision that still has the initialize handshake; the server answers with
        // the one it speaks, which rmcp then sends on every request.
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE);
        info.serve(transport).await.map_err(init_error)
    };
    let service = tokio::time::timeout(config.connect_timeout, connect)
        .await
        .map_err(|_| {
            McpError::Unavailable(format!(
                "no answer within {:?} (connect timeout)",
                config.connect_timeout
            ))
        })?
        .map_err(|e| scrub_error(e, config))?;
    if let Some(info) = service.peer().peer_info() {
        tracing::info!(
            server = %config.name,
            protocol = %info.protocol_version,
            server_name = info.server_info.as_ref().map(|i| i.name.as_str()).unwrap_or(""),
            generation,
            "MCP session opened"
        );
    }
    Ok(Session { service, generation })
}

fn headers(config: &McpServerConfig) -> Result<reqwest::header::HeaderMap, McpError> {
    use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
    // Headers the transport sets itself; a configured one would confuse the protocol.
    const RESERVED: &[&str] = &[
        "accept",
        "content-type",
        "content-length",
        "host",
        "connection",
        "transfer-encoding",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
    ];
    let mut map = HeaderMap::new();
    for (name, value) in &config.headers {
        let header = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| McpError::InvalidConfig(format!("{name:?} is not a valid header name")))?;
        if RESERVED.contains(&header.as_str()) || (header == AUTHORIZATION && config.bearer_token.is_some()) {
            return Err(McpError::InvalidConfig(format!("the header {header} cannot be set")));
        }
        let mut value = HeaderValue::from_str(value.expose())
            .map_err(|_| McpError::InvalidConfig(format!("the value of header {header} is not valid")))?;
        value.set_sensitive(true);
        map.append(header, value);
    }
    if let Some(token) = &config.bearer_token {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| McpError::InvalidConfig("the bearer token has characters a header cannot carry".into()))?;
        value.set_sensitive(true);
        map.insert(AUTHORIZATION, value);
    }
    Ok(map)
}

fn init_error(e: ClientInitializeError) -> McpError {
    match e {
        ClientInitializeError::TransportError { error, .. } => transport_error(&*error.error),
        ClientInitializeError::JsonRpcError(ErrorData { message, .. }) => {
            McpError::Protocol(format!("the server refused to initialize: {message}"))
        }
        ClientInitializeError::ConnectionClosed(_) => {
            McpError::Unavailable("the server closed the connection during initialization".into())
        }
        ClientInitializeError::Cancelled => McpError::Unavailable("initialization was cancelled".into()),
        other => McpError::Protocol(other.to_string()),
    }
}

type HttpError = StreamableHttpError<reqwest::Error>;

/// rmcp's transport error, found in an error chain.
fn find_http_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a HttpError> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(http) = e.downcast_ref::<HttpError>() {
            return Some(http);
        }
        current = e.source();
    }
    None
}

fn transport_error(error: &(dyn std::error::Error + Send + Sync + 'static)) -> McpError {
    let Some(http) = find_http_error(error) else {
        return McpError::Unavailable(error.to_string());
    };
    match http {
        HttpError::AuthRequired(_) | HttpError::InsufficientScope(_) => {
            McpError::Unauthorized("the server asks for other credentials (HTTP 401/403)".into())
        }
        // A 401/403 without a challenge comes as "HTTP 401 Unauthorized: <body>"; the body is
        // the server's and is scrubbed before it is shown.
        HttpError::UnexpectedServerResponse(text) if text.starts_with("HTTP 401") || text.starts_with("HTTP 403") => {
            McpError::Unauthorized(text.to_string())
        }
        HttpError::HttpStatus(status) => McpError::Unavailable(format!("the server answered HTTP {}", status.status)),
        HttpError::Client(e) => reqwest_error(e),
        HttpError::SessionExpired | HttpError::ReinitializationFailed(_) | HttpError::SessionRecoveryTimeout => {
            McpError::Unavailable(format!("the session was lost: {http}"))
        }
        HttpError::TransportChannelClosed | HttpError::UnexpectedEndOfStream => {
            McpError::Unavailable("the connection to the server closed".into())
        }
        HttpError::Io(e) => McpError::Unavailable(e.to_string()),
        other => McpError::Protocol(other.to_string()),
    }
}

/// A reqwest error without its URL (which may carry a key in its query), by its innermost cause.
fn reqwest_error(e: &reqwest::Error) -> McpError {
    let mut cause: &(dyn std::error::Error + 'static) = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let what = if e.is_connect() {
        "could not connect"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "HTTP request failed"
    };
    if std::ptr::addr_eq(cause, e) {
        McpError::Unavailable(what.into())
    } else {
        McpError::Unavailable(format!("{what}: {cause}"))
    }
}

/// Whether the session is gone (its transport closed, or the server forgot it), so the request
/// may be sent again on a new one.
fn session_lost(e: &ServiceError) -> bool {
    match e {
        ServiceError::TransportClosed => true,
        ServiceError::TransportSend(_) => session_expired(e),
        _ => false,
    }
}

/// Whether the server answered 404 to the session id and rmcp could not renew it.
fn session_expired(e: &ServiceError) -> bool {
    let ServiceError::TransportSend(e) = e else {
        return false;
    };
    matches!(
        find_http_error(&*e.error),
        Some(HttpError::SessionExpired | HttpError::ReinitializationFailed(_))
    )
}

/// Longest error text kept, in characters: a server's message is shown, not a page of it.
const MAX_ERROR_CHARS: usize = 2_000;

/// Scrubs the configured secrets from an error's text, then bounds it.
fn scrub_error(error: McpError, config: &McpServerConfig) -> McpError {
    let s = |text: String| content::truncate(scrub(&text, config.secrets()), MAX_ERROR_CHARS).0;
    match error {
        McpError::Unavailable(t) => McpError::Unavailable(s(t)),
        McpError::Unauthorized(t) => McpError::Unauthorized(s(t)),
        McpError::Protocol(t) => McpError::Protocol(s(t)),
        McpError::ToolFailed(t) => McpError::ToolFailed(s(t)),
        McpError::InvalidConfig(t) => McpError::InvalidConfig(s(t)),
        other => other,
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;

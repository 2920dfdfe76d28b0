//! Toolkits (Composio) with the original API's paths and shapes: supported toolkits, connecting
//! an account, syncing its status, enabling and disabling it.

use super::ApiTags;
use super::detail::Detail;
use super::session::Authenticated;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use meai_core::toolkits::{ToolkitConnections, ToolkitError, ToolkitsError};
use meai_core::{ConnectionStatus, ToolkitConnection};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, payload::Json};

pub struct ToolkitsApi;

/// Every way a toolkit operation can fail, each as `{"detail": ...}`.
#[derive(Debug, ApiResponse)]
pub enum ToolkitsApiError {
    /// A malformed toolkit slug or connection request id.
    #[oai(status = 400)]
    BadRequest(Json<Detail>),
    /// No valid session.
    #[oai(status = 401)]
    Unauthorized(Json<Detail>),
    /// No such connection for this user, or a toolkit this server does not offer (unsupported,
    /// or without an auth config id).
    #[oai(status = 404)]
    NotFound(Json<Detail>),
    /// The connection is not in a state that allows this (e.g. enabling before authorizing).
    #[oai(status = 409)]
    Conflict(Json<Detail>),
    /// Composio's rate limit was reached; retry after `Retry-After` seconds.
    #[oai(status = 429)]
    RateLimited(Json<Detail>, #[oai(header = "Retry-After")] Option<u64>),
    /// Composio answered with an error.
    #[oai(status = 502)]
    BadGateway(Json<Detail>),
    /// Toolkits are not configured on this server, or Composio or the database is unreachable.
    #[oai(status = 503)]
    Unavailable(Json<Detail>),
}

fn detail(msg: impl Into<String>) -> Json<Detail> {
    Json(Detail::new(msg))
}

impl From<ToolkitsError> for ToolkitsApiError {
    fn from(e: ToolkitsError) -> Self {
        match e {
            ToolkitsError::Invalid(m) => Self::BadRequest(detail(m)),
            ToolkitsError::NotFound(m) => Self::NotFound(detail(m)),
            ToolkitsError::Conflict(m) => Self::Conflict(detail(m)),
            ToolkitsError::Storage(err) => {
                tracing::error!(error = %err, "storage failure");
                Self::Unavailable(detail("Storage is unavailable, try again"))
            }
            ToolkitsError::Upstream(err) => {
                tracing::warn!(error = %err, "Composio failure");
                match err {
                    ToolkitError::RateLimited { retry_after } => Self::RateLimited(
                        detail("Composio's rate limit was reached, try again later"),
                        Some(retry_after.map_or(60, |d| d.as_secs_f64().ceil() as u64)),
                    ),
                    ToolkitError::Unavailable(_) => {
                        Self::Unavailable(detail("Composio is unavailable, try again later"))
                    }
                    ToolkitError::BadRequest(m) => {
                        Self::BadGateway(detail(format!("Composio rejected the request: {m}")))
                    }
                    other => Self::BadGateway(detail(format!("Composio failed: {other}"))),
                }
            }
        }
    }
}

/// The use cases, or 503 when Composio is not configured: for the actions that need it
/// (connect, enable, sync). What reads answer then is what is true: no toolkit can be
/// connected, and there are no connections.
fn toolkits(state: &AppState) -> Result<&ToolkitConnections, ToolkitsApiError> {
    state
        .toolkits
        .as_ref()
        .ok_or_else(|| ToolkitsApiError::Unavailable(detail(NOT_CONFIGURED)))
}

const NOT_CONFIGURED: &str = "Toolkits are not configured";

/// What reads of one connection answer without toolkits: there is none.
fn no_connection(toolkit: &str) -> ToolkitsApiError {
    ToolkitsApiError::NotFound(detail(format!(
        "No connection found for toolkit {toolkit}: {NOT_CONFIGURED}"
    )))
}

/// `pending` until authorized, `active` when usable, `failed` when Composio reports it unusable,
/// `disconnected` when the user disabled it.
#[derive(Debug, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ConnectionStatusValue {
    Pending,
    Active,
    Failed,
    Disconnected,
}

impl From<ConnectionStatus> for ConnectionStatusValue {
    fn from(s: ConnectionStatus) -> Self {
        match s {
            ConnectionStatus::Pending => Self::Pending,
            ConnectionStatus::Active => Self::Active,
            ConnectionStatus::Failed => Self::Failed,
            ConnectionStatus::Disconnected => Self::Disconnected,
        }
    }
}

/// The supported toolkits.
#[derive(Debug, Object)]
struct ToolkitList {
    /// Supported toolkit slugs, upper-case (none when toolkits are not configured).
    toolkits: Vec<String>,
    user_id: i64,
    /// False when this server has no Composio configured (`COMPOSIO_API_KEY`): no toolkit can
    /// be connected.
    configured: bool,
}

/// A started authorization.
#[derive(Debug, Object)]
struct ConnectOut {
    /// Pass to `POST /toolkits/connections/sync/{connection_request_id}` after authorizing.
    connection_request_id: String,
    /// Where the person authorizes the toolkit.
    #[oai(nullable)]
    redirect_url: Option<String>,
    status: ConnectionStatusValue,
}

/// The user's connection of a toolkit.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ToolkitConnectionOut {
    connection_id: i64,
    user_id: i64,
    toolkit_slug: String,
    connection_status: ConnectionStatusValue,
    /// The account at Composio, once one exists.
    #[oai(nullable)]
    connected_account_id: Option<String>,
    #[oai(nullable)]
    auth_config_id: Option<String>,
    #[oai(nullable)]
    connection_request_id: Option<String>,
    #[oai(nullable)]
    last_synced_at: Option<DateTime<Utc>>,
    /// Why the connection failed, when it did.
    #[oai(nullable)]
    error_message: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ToolkitConnection> for ToolkitConnectionOut {
    fn from(c: ToolkitConnection) -> Self {
        Self {
            connection_id: c.id.0,
            user_id: c.user_id.0,
            toolkit_slug: c.toolkit_slug.as_str().to_owned(),
            connection_status: c.status.into(),
            connected_account_id: c.connected_account_id,
            auth_config_id: c.auth_config_id,
            connection_request_id: c.connection_request_id,
            last_synced_at: c.last_synced_at,
            error_message: c.error_message,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl poem_openapi::types::Example for ToolkitConnectionOut {
    fn example() -> Self {
        let at = super::conversations::example_time(9, 0);
        Self {
            connection_id: 3,
            user_id: 1,
            toolkit_slug: "GMAIL".into(),
            connection_status: ConnectionStatusValue::Active,
            connected_account_id: Some("ca_8x2kq0b1".into()),
            auth_config_id: Some("ac_gmail".into()),
            connection_request_id: Some("ca_8x2kq0b1".into()),
            last_synced_at: Some(at),
            error_message: None,
            created_at: at,
            updated_at: at,
        }
    }
}

/// The user's toolkit connections.
#[derive(Debug, Object)]
struct ConnectionsOut {
    connections: Vec<ToolkitConnectionOut>,
    total_count: u64,
    /// False when this server has no Composio configured: there are no connections then.
    configured: bool,
}

/// The outcome of a sync.
#[derive(Debug, Object)]
struct SyncOut {
    /// The status was read from Composio and stored (whatever it is).
    success: bool,
    message: String,
    connection_status: ConnectionStatusValue,
    #[oai(nullable)]
    last_synced_at: Option<DateTime<Utc>>,
}

/// What was done, for people.
#[derive(Debug, Object)]
struct ToolkitMessage {
    message: String,
}

#[OpenApi(tag = "ApiTags::Toolkits")]
impl ToolkitsApi {
    /// Supported toolkits
    ///
    /// The toolkits this server supports (GOOGLECALENDAR, NOTION, SLACKBOT, GMAIL, GOOGLETASKS,
    /// TWITTER). When toolkits are not configured (no `COMPOSIO_API_KEY`): none, with
    /// `configured: false`.
    #[oai(path = "/toolkits", method = "get", operation_id = "getToolkits")]
    async fn list(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
    ) -> Result<Json<ToolkitList>, ToolkitsApiError> {
        let toolkits = match &state.toolkits {
            Some(t) => t.supported().iter().map(|s| s.as_str().to_owned()).collect(),
            None => Vec::new(),
        };
        Ok(Json(ToolkitList {
            toolkits,
            user_id: session.0.user_id.0,
            configured: state.toolkits.is_some(),
        }))
    }

    /// Connect a toolkit
    ///
    /// Starts authorization with Composio (Connect Link) and stores a `pending` connection,
    /// replacing the user's earlier one for this toolkit. Open `redirect_url`, then sync with
    /// `connection_request_id`. The slug is case-insensitive. 400 for an unsupported toolkit or
    /// one without its `*_AUTH_CONFIG_ID`.
    #[oai(
        path = "/toolkits/connect/:toolkit_slug",
        method = "post",
        operation_id = "connectToolkit"
    )]
    async fn connect(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The toolkit, e.g. `GMAIL` (case-insensitive).
        #[oai(validator(pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        toolkit_slug: Path<String>,
    ) -> Result<Json<ConnectOut>, ToolkitsApiError> {
        let started = toolkits(&state)?.connect(session.0.user_id, &toolkit_slug.0).await?;
        Ok(Json(ConnectOut {
            connection_request_id: started.connection.connection_request_id.unwrap_or_default(),
            redirect_url: started.redirect_url,
            status: started.connection.status.into(),
        }))
    }

    /// Enable a toolkit
    ///
    /// Checks the toolkit's connected account with Composio and, if it is usable (ACTIVE),
    /// marks the connection `active` so the assistant offers its tools again. This is how a
    /// disabled toolkit comes back without authorizing again. 404 without a connection; 409
    /// when the account is not authorized yet or no longer usable (the connection is then
    /// updated to `pending` or `failed`).
    #[oai(
        path = "/toolkits/enable/:toolkit_slug",
        method = "post",
        operation_id = "enableToolkit"
    )]
    async fn enable(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The toolkit, e.g. `GMAIL` (case-insensitive).
        #[oai(validator(pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        toolkit_slug: Path<String>,
    ) -> Result<Json<ToolkitMessage>, ToolkitsApiError> {
        let c = toolkits(&state)?.enable(session.0.user_id, &toolkit_slug.0).await?;
        Ok(Json(ToolkitMessage {
            message: format!("Toolkit {} enabled", c.toolkit_slug),
        }))
    }

    /// Disable a toolkit
    ///
    /// Marks the connection `disconnected`: the assistant stops offering its tools. The account
    /// stays connected at Composio, so enabling the toolkit again needs no new authorization.
    /// 404 without a connection (always, when toolkits are not configured).
    #[oai(
        path = "/toolkits/disable/:toolkit_slug",
        method = "delete",
        operation_id = "disableToolkit"
    )]
    async fn disable(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The toolkit, e.g. `GMAIL` (case-insensitive).
        #[oai(validator(pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        toolkit_slug: Path<String>,
    ) -> Result<Json<ToolkitMessage>, ToolkitsApiError> {
        let Some(toolkits) = &state.toolkits else {
            return Err(no_connection(&toolkit_slug.0));
        };
        let c = toolkits.disable(session.0.user_id, &toolkit_slug.0).await?;
        Ok(Json(ToolkitMessage {
            message: format!("Toolkit {} disabled", c.toolkit_slug),
        }))
    }

    /// The user's toolkit connections
    ///
    /// Every toolkit connection of the signed-in user, whatever its status. None, with
    /// `configured: false`, when toolkits are not configured.
    #[oai(path = "/toolkits/connections", method = "get", operation_id = "getConnections")]
    async fn connections(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
    ) -> Result<Json<ConnectionsOut>, ToolkitsApiError> {
        let list = match &state.toolkits {
            Some(t) => t.list(session.0.user_id).await?,
            None => Vec::new(),
        };
        Ok(Json(ConnectionsOut {
            total_count: list.len() as u64,
            connections: list.into_iter().map(Into::into).collect(),
            configured: state.toolkits.is_some(),
        }))
    }

    /// One toolkit connection
    ///
    /// 404 when the user has no connection for this toolkit (always, when toolkits are not
    /// configured).
    #[oai(
        path = "/toolkits/connections/:toolkit_slug",
        method = "get",
        operation_id = "getConnectionStatus"
    )]
    async fn connection(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The toolkit, e.g. `GMAIL` (case-insensitive).
        #[oai(validator(pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        toolkit_slug: Path<String>,
    ) -> Result<Json<ToolkitConnectionOut>, ToolkitsApiError> {
        let Some(toolkits) = &state.toolkits else {
            return Err(no_connection(&toolkit_slug.0));
        };
        Ok(Json(toolkits.get(session.0.user_id, &toolkit_slug.0).await?.into()))
    }

    /// Sync a connection with Composio
    ///
    /// Reads the connection request's account from Composio and stores its status: ACTIVE ->
    /// `active`; INITIALIZING, INITIATED -> `pending`; FAILED, EXPIRED, INACTIVE, REVOKED ->
    /// `failed` with `error_message`. A connection the user disabled stays `disconnected`.
    /// Only the user who started the request can sync it (404 for anyone else).
    #[oai(
        path = "/toolkits/connections/sync/:connection_request_id",
        method = "post",
        operation_id = "syncConnection"
    )]
    async fn sync(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The `connection_request_id` that `POST /toolkits/connect/{toolkit_slug}` returned.
        connection_request_id: Path<String>,
    ) -> Result<Json<SyncOut>, ToolkitsApiError> {
        let synced = toolkits(&state)?
            .sync(session.0.user_id, &connection_request_id.0)
            .await?;
        Ok(Json(SyncOut {
            success: true,
            message: synced.message,
            connection_status: synced.connection.status.into(),
            last_synced_at: synced.connection.last_synced_at,
        }))
    }
}

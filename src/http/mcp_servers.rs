//! A person's own MCP servers: list, add, remove. Their tools join the person's turns beside the
//! operator's servers and the connected toolkits. A token is stored sealed and never returned.

use super::conversations::Done;
use super::session::Authenticated;
use super::{ApiError, ApiTags};
use crate::failure::Failure;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use meai_core::McpServerId;
use meai_core::mcp::{AddServer, McpServer, McpServers};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{Object, OpenApi, payload::Json};

pub struct McpServersApi;

/// One of the person's MCP servers. The token is never returned: `has_token` says whether one is
/// stored.
#[derive(Debug, Object)]
struct McpServerOut {
    id: i64,
    name: String,
    url: String,
    has_token: bool,
    /// The prefix of this server's tool names as the assistant sees them (`mcp_<name>__<tool>`)
    /// is made from `name`; its toolkit in the tool policies is this value.
    toolkit: String,
    created_at: DateTime<Utc>,
}

impl From<McpServer> for McpServerOut {
    fn from(s: McpServer) -> Self {
        Self {
            id: s.id.0,
            toolkit: toolkit_of(&s.name),
            has_token: s.has_token(),
            name: s.name,
            url: s.url,
            created_at: s.created_at,
        }
    }
}

#[cfg(feature = "mcp")]
fn toolkit_of(name: &str) -> String {
    meai_mcp::toolkit_name(name)
}

#[cfg(not(feature = "mcp"))]
fn toolkit_of(name: &str) -> String {
    format!("MCP_{}", name.to_ascii_uppercase())
}

/// A server to add.
#[derive(Debug, Object)]
struct NewMcpServerIn {
    /// 1 to 64 characters, unique among the person's servers (ignoring case).
    #[oai(validator(min_length = 1, max_length = 64))]
    name: String,
    /// The server's Streamable HTTP endpoint (`https://host/mcp`). Refused when its host is, or
    /// resolves to, a loopback, private, link-local or metadata address (unless the operator
    /// allows private ones).
    #[oai(validator(min_length = 1, max_length = 2048))]
    url: String,
    /// Sent as `Authorization: Bearer <token>`; stored encrypted, never returned.
    #[oai(validator(max_length = 4096))]
    token: Option<String>,
}

fn servers(state: &AppState) -> Result<&McpServers, ApiError> {
    state.mcp.as_ref().ok_or_else(|| {
        Failure::new(
            poem::http::StatusCode::SERVICE_UNAVAILABLE,
            "MCP servers are not available on this server",
        )
        .into()
    })
}

#[OpenApi(tag = "ApiTags::Toolkits")]
impl McpServersApi {
    /// The person's MCP servers
    ///
    /// Oldest first. The operator's servers (offered to everyone) are not listed here.
    #[oai(path = "/mcp/servers", method = "get", operation_id = "listMcpServers")]
    async fn list(&self, state: Data<&AppState>, session: Authenticated) -> Result<Json<Vec<McpServerOut>>, ApiError> {
        let list = servers(&state)?.list(session.0.user_id).await.map_err(Failure::from)?;
        Ok(Json(list.into_iter().map(Into::into).collect()))
    }

    /// Add an MCP server
    ///
    /// Its tools are offered in the person's next turns (a server that is down is skipped).
    /// 400 for a refused URL or bad input, 409 for a name already used or too many servers
    /// (at most 20).
    #[oai(path = "/mcp/servers", method = "post", operation_id = "addMcpServer")]
    async fn add(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        body: Json<NewMcpServerIn>,
    ) -> Result<Json<McpServerOut>, ApiError> {
        let add = AddServer {
            name: body.0.name,
            url: body.0.url,
            token: body.0.token,
        };
        let server = servers(&state)?
            .add(session.0.user_id, add)
            .await
            .map_err(Failure::from)?;
        Ok(Json(server.into()))
    }

    /// Remove an MCP server
    ///
    /// 404 for a server that is not the person's.
    #[oai(path = "/mcp/servers/:id", method = "delete", operation_id = "deleteMcpServer")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        servers(&state)?
            .remove(session.0.user_id, McpServerId(id.0))
            .await
            .map_err(Failure::from)?;
        Ok(Json(Done {
            message: "MCP server removed".into(),
        }))
    }
}

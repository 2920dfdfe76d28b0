//! Service information and probes.

use super::ApiTags;
use super::detail::Detail;
use crate::state::AppState;
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

pub struct MetaApi;

/// Which service answers.
#[derive(Debug, Object)]
struct Welcome {
    /// `Welcome to <APP_NAME>`.
    message: String,
    /// `APP_VERSION`, by default the server's version.
    version: String,
}

/// A probe's answer.
#[derive(Debug, Object)]
struct Status {
    /// `healthy` or `ready`.
    status: String,
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// The database answers.
    #[oai(status = 200)]
    Ready(Json<Status>),
    /// The database does not answer; take this instance out of rotation.
    #[oai(status = 503)]
    NotReady(Json<Detail>),
}

#[OpenApi(tag = "ApiTags::Meta")]
impl MetaApi {
    /// Service name and version
    ///
    /// Answers without a session; shows that a meAI server is listening here.
    #[oai(path = "/", method = "get", operation_id = "getServiceInfo")]
    async fn root(&self, state: Data<&AppState>) -> Json<Welcome> {
        Json(Welcome {
            message: format!("Welcome to {}", state.config.app_name),
            version: state.config.app_version.clone(),
        })
    }

    /// Liveness probe
    ///
    /// Answers as long as the process serves requests; checks no dependency.
    #[oai(path = "/health", method = "get", operation_id = "health")]
    async fn health(&self) -> Json<Status> {
        Json(Status {
            status: "healthy".into(),
        })
    }

    /// Readiness probe
    ///
    /// Checks that the database answers; 503 when it does not, so a load balancer can take this
    /// instance out of rotation.
    #[oai(path = "/ready", method = "get", operation_id = "ready")]
    async fn ready(&self, state: Data<&AppState>) -> ReadyResponse {
        match state.store.ping().await {
            Ok(()) => ReadyResponse::Ready(Json(Status { status: "ready".into() })),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                ReadyResponse::NotReady(Json(Detail::new("Database unavailable")))
            }
        }
    }
}

//! Service information and probes.

use super::ApiTags;
use super::detail::Detail;
use crate::state::AppState;
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

pub struct MetaApi;

#[derive(Debug, Object)]
struct Welcome {
    message: String,
    version: String,
}

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
    #[oai(path = "/", method = "get")]
    async fn root(&self, state: Data<&AppState>) -> Json<Welcome> {
        Json(Welcome {
            message: format!("Welcome to {}", state.config.app_name),
            version: state.config.app_version.clone(),
        })
    }

    /// Liveness probe
    ///
    /// Answers as long as the process serves requests; checks no dependency.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> Json<Status> {
        Json(Status { status: "healthy".into() })
    }

    /// Readiness probe
    ///
    /// Checks that the database answers.
    #[oai(path = "/ready", method = "get")]
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

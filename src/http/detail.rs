//! Every error leaves the server as `{"detail": "..."}` with its status, like the original's
//! FastAPI responses, including errors raised before a handler runs (routing, parsing, limits).

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::Object;
use poem_openapi::types::Example;

/// Every error body, as in the original API: `{"detail": "..."}`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Detail {
    /// What went wrong, for people.
    pub detail: String,
}

impl Example for Detail {
    fn example() -> Self {
        Self::new("Conversation not found")
    }
}

impl Detail {
    pub fn new(detail: impl Into<String>) -> Self {
        Self { detail: detail.into() }
    }
}

pub async fn error_response(err: poem::Error) -> Response {
    // Handlers' own error responses (ApiError) already have their JSON detail.
    if err.is_from_response() {
        return err.into_response();
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseRequestPayloadError>() {
        let f = crate::failure::Failure::invalid_payload(&e.reason);
        return poem::web::Json(serde_json::json!({ "detail": f.detail }))
            .with_status(f.status)
            .into_response();
    }
    let status = err.status();
    let detail = match status {
        StatusCode::NOT_FOUND => "Not Found".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "Method Not Allowed".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large".to_owned(),
        StatusCode::UNAUTHORIZED => "Not authenticated".to_owned(),
        s if s.is_server_error() => {
            tracing::error!(error = %err, "unhandled error");
            "Internal server error".to_owned()
        }
        _ => err.to_string(),
    };
    poem::web::Json(serde_json::json!({ "detail": detail }))
        .with_status(status)
        .into_response()
}

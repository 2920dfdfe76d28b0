//! The REST operations' error responses, built from the edge's one failure table
//! ([`crate::failure`]).

use super::detail::Detail;
use crate::failure::Failure;
use meai_core::CoreError;
use poem::http::StatusCode;
use poem_openapi::{ApiResponse, payload::Json};

#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is malformed or a value is invalid.
    #[oai(status = 400)]
    BadRequest(Json<Detail>),
    /// No valid session.
    #[oai(status = 401)]
    Unauthorized(Json<Detail>),
    /// The resource does not exist or belongs to someone else.
    #[oai(status = 404)]
    NotFound(Json<Detail>),
    /// The request conflicts with the current state.
    #[oai(status = 409)]
    Conflict(Json<Detail>),
    /// The server failed; details are in its logs, never in the response.
    #[oai(status = 500)]
    Internal(Json<Detail>),
    /// A dependency (e.g. the database) is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<Detail>),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(Json(Detail::new(msg)))
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(Json(Detail::new(msg)))
    }

    pub fn unauthorized() -> Self {
        Self::Unauthorized(Json(Detail::new("Not authenticated")))
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        let body = Json(Detail::new(f.detail));
        match f.status {
            StatusCode::BAD_REQUEST => Self::BadRequest(body),
            StatusCode::UNAUTHORIZED => Self::Unauthorized(body),
            StatusCode::NOT_FOUND => Self::NotFound(body),
            StatusCode::CONFLICT => Self::Conflict(body),
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable(body),
            StatusCode::INTERNAL_SERVER_ERROR => Self::Internal(body),
            other => {
                // Operations that can answer other statuses declare them in their own responses.
                tracing::error!(status = other.as_u16(), "a failure has no response in this operation");
                Self::Internal(Json(Detail::new("Internal server error")))
            }
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        Failure::from(e).into()
    }
}

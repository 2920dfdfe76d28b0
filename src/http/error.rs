//! The one place where core errors become HTTP statuses.

use super::detail::Detail;
use meai_core::CoreError;
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

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::NotFound(what) => Self::not_found(format!("{what} not found")),
            CoreError::Unauthenticated => Self::unauthorized(),
            CoreError::Invalid(m) => Self::bad_request(m),
            CoreError::Conflict(m) => Self::Conflict(Json(Detail::new(m))),
            CoreError::Storage(err) => {
                tracing::error!(error = %err, "storage failure");
                Self::Unavailable(Json(Detail::new("Storage is unavailable, try again")))
            }
            CoreError::Internal(m) => {
                tracing::error!(error = %m, "internal failure");
                Self::Internal(Json(Detail::new("Internal server error")))
            }
        }
    }
}

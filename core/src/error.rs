use crate::session::TokenError;
use crate::store::StoreError;
use crate::turn::RunError;

/// What a use case can fail with; the HTTP and socket edges map each variant once.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not authenticated")]
    Unauthenticated,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Storage(StoreError),
    /// A session token could not be signed.
    #[error("session signing failed: {0}")]
    Signing(String),
    /// A service the operation needs (e.g. the toolkit platform) is unreachable; readable.
    #[error("{0}")]
    Unavailable(String),
    /// The run registry (in process, or Redis) failed.
    #[error("run registry failed: {0}")]
    Runs(String),
}

impl CoreError {
    /// Maps a store error, naming what was looked up when it was missing.
    pub fn store(what: &'static str) -> impl FnOnce(StoreError) -> Self {
        move |e| match e {
            StoreError::NotFound => Self::NotFound(what),
            StoreError::Conflict(m) => Self::Conflict(m),
            other => Self::Storage(other),
        }
    }
}

impl From<TokenError> for CoreError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid | TokenError::Expired => Self::Unauthenticated,
            TokenError::Signing(m) => Self::Signing(m),
        }
    }
}

impl From<RunError> for CoreError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Active => Self::Conflict(crate::turn::BUSY.into()),
            RunError::Backend(m) => Self::Runs(m),
        }
    }
}

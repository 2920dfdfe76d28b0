use super::StoreError;
use crate::PendingLogin;
use chrono::{DateTime, Utc};

/// OAuth logins in flight.
#[async_trait::async_trait]
pub trait LoginStore {
    async fn put_login(&self, login: &PendingLogin) -> Result<(), StoreError>;

    /// Removes and returns the login for `state` if it exists and has not expired at `now`.
    /// Single use: a second call with the same state finds nothing.
    async fn take_login(&self, state: &str, now: DateTime<Utc>) -> Result<Option<PendingLogin>, StoreError>;
}

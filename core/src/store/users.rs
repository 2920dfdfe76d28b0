use super::StoreError;
use crate::{NewUser, User, UserId};
use chrono::{DateTime, Utc};

#[async_trait::async_trait]
pub trait UserStore {
    /// Creates the user with this e-mail, or updates its profile; either way records the login time.
    async fn upsert_user(&self, profile: &NewUser, login_at: DateTime<Utc>) -> Result<User, StoreError>;

    async fn get_user(&self, id: UserId) -> Result<User, StoreError>;
}

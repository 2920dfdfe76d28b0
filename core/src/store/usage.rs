use super::StoreError;
use crate::{UsageEntry, UserId};
use chrono::{DateTime, Utc};

#[async_trait::async_trait]
pub trait UsageStore {
    /// The user's answers with usage written in `[from, to)`, summed per UTC day, model and
    /// conversation (in no particular order).
    async fn usage(&self, user: UserId, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UsageEntry>, StoreError>;
}

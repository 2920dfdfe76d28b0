use super::StoreError;
use crate::UserId;

/// How many rows of one kind an account deletion removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// What the rows were (`conversations`, `messages`, `memories`, ...).
    pub what: &'static str,
    pub rows: u64,
}

#[async_trait::async_trait]
pub trait AccountStore {
    /// Deletes the user and every row of theirs, in every table, in one transaction (the local
    /// vector index's rows included). `NotFound` when the user does not exist.
    async fn delete_account(&self, user: UserId) -> Result<Vec<Removed>, StoreError>;
}

use super::StoreError;
use crate::consent::{ActionFilter, ActionRecord, NewAction};
use crate::{ActionId, Page, UserId};

/// The action log (see [`crate::consent::ActionRecord`]). Entries outlive their conversation.
#[async_trait::async_trait]
pub trait ActionStore {
    /// `NotFound` when the user does not exist.
    async fn record_action(&self, user: UserId, action: &NewAction) -> Result<ActionRecord, StoreError>;

    /// The user's entries matching `filter`, newest first (`before`: older than that entry).
    async fn list_actions(
        &self,
        user: UserId,
        filter: &ActionFilter,
        page: Page<ActionId>,
    ) -> Result<Vec<ActionRecord>, StoreError>;
}

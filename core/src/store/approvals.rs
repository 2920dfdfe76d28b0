use super::StoreError;
use crate::consent::{Approval, NewApproval, Resolution};
use crate::{ApprovalId, ConversationId, Page, UserId};
use chrono::{DateTime, Utc};

/// Tool calls waiting for a person's decision (see [`crate::consent::Approval`]).
#[async_trait::async_trait]
pub trait ApprovalStore {
    /// Stores the approvals of one model step together, as one batch (the first one's id);
    /// returned in order. `NotFound` when the conversation is not the user's.
    async fn create_approvals(
        &self,
        user: UserId,
        conversation: ConversationId,
        approvals: &[NewApproval],
    ) -> Result<Vec<Approval>, StoreError>;

    async fn get_approval(&self, user: UserId, id: ApprovalId) -> Result<Approval, StoreError>;

    /// The conversation's pending approvals, oldest first.
    async fn pending_approvals(&self, user: UserId, conversation: ConversationId) -> Result<Vec<Approval>, StoreError>;

    /// Every approval of a batch, oldest first.
    async fn approval_batch(&self, user: UserId, batch: ApprovalId) -> Result<Vec<Approval>, StoreError>;

    /// Decides a pending approval, atomically: of two concurrent decisions exactly one wins and
    /// the other gets `Conflict` (as does any decision of an approval no longer pending).
    async fn resolve_approval(
        &self,
        user: UserId,
        id: ApprovalId,
        resolution: &Resolution,
        at: DateTime<Utc>,
    ) -> Result<Approval, StoreError>;

    /// Records what the model was told about a decided approval.
    async fn set_approval_result(&self, user: UserId, id: ApprovalId, result: &str) -> Result<(), StoreError>;

    /// All the user's approvals, any state, newest first (e.g. for export).
    async fn list_approvals(&self, user: UserId, page: Page<ApprovalId>) -> Result<Vec<Approval>, StoreError>;
}

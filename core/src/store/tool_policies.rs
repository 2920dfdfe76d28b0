use super::StoreError;
use crate::consent::{NewPolicyRule, PolicyRule, PolicyScope};
use crate::{Page, ToolPolicyId, UserId};

/// A person's tool policy rules (see [`crate::consent::Policies`]).
#[async_trait::async_trait]
pub trait ToolPolicyStore {
    /// Stores the rule for its scope, replacing the one already there.
    async fn put_tool_policy(&self, user: UserId, rule: &NewPolicyRule) -> Result<PolicyRule, StoreError>;

    /// Removes the rule of exactly this scope; `NotFound` when there is none.
    async fn delete_tool_policy(&self, user: UserId, scope: &PolicyScope) -> Result<(), StoreError>;

    /// The user's rules, newest first (`before`: older than that rule), e.g. for export.
    async fn list_tool_policies(&self, user: UserId, page: Page<ToolPolicyId>) -> Result<Vec<PolicyRule>, StoreError>;
}

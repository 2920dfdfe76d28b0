//! Tool policies, approvals and the action log in memory, with the SQL store's rules: rules are
//! unique per scope, a batch is its first approval's id, a pending approval is decided once,
//! approvals go with their conversation and the action log does not.

use super::{MemoryStore, next, stored, to_usize};
use chrono::{DateTime, Utc};
use meai_core::consent::*;
use meai_core::store::*;
use meai_core::*;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(super) struct ConsentState {
    policies: BTreeMap<ToolPolicyId, PolicyRule>,
    approvals: BTreeMap<ApprovalId, Approval>,
    actions: BTreeMap<ActionId, ActionRecord>,
    next_policy: i64,
    next_approval: i64,
    next_action: i64,
}

impl ConsentState {
    pub(super) fn conversation_deleted(&mut self, conversation: ConversationId) {
        self.approvals.retain(|_, a| a.conversation_id != conversation);
    }

    /// Forgets the user's rules, approvals and action log; how many of each.
    pub(super) fn user_deleted(&mut self, user: UserId) -> [(&'static str, u64); 3] {
        let before = (self.policies.len(), self.approvals.len(), self.actions.len());
        self.policies.retain(|_, r| r.user_id != user);
        self.approvals.retain(|_, a| a.user_id != user);
        self.actions.retain(|_, a| a.user_id != user);
        [
            ("tool_policies", (before.0 - self.policies.len()) as u64),
            ("tool_approvals", (before.1 - self.approvals.len()) as u64),
            ("tool_actions", (before.2 - self.actions.len()) as u64),
        ]
    }

    fn approval_mut(&mut self, user: UserId, id: ApprovalId) -> Result<&mut Approval, StoreError> {
        self.approvals
            .get_mut(&id)
            .filter(|a| a.user_id == user)
            .ok_or(StoreError::NotFound)
    }
}

/// The newest `page.limit` of `items` (id order) strictly before `page.before`, newest first.
fn newest_first<Id: Ord + Copy, T: Clone>(items: impl DoubleEndedIterator<Item = (Id, T)>, page: Page<Id>) -> Vec<T> {
    items
        .rev()
        .filter(|(id, _)| page.before.is_none_or(|b| *id < b))
        .take(page.limit.map_or(usize::MAX, to_usize))
        .map(|(_, t)| t)
        .collect()
}

#[async_trait::async_trait]
impl ToolPolicyStore for MemoryStore {
    async fn put_tool_policy(&self, user: UserId, rule: &NewPolicyRule) -> Result<PolicyRule, StoreError> {
        let mut s = self.state();
        if !s.users.contains_key(&user) {
            return Err(StoreError::NotFound);
        }
        let now = s.clock.now();
        let c = &mut s.consent;
        let existing = c
            .policies
            .values()
            .find(|r| r.user_id == user && &r.scope == rule.scope())
            .map(|r| r.id);
        let id = match existing {
            Some(id) => id,
            None => ToolPolicyId(next(&mut c.next_policy)),
        };
        let stored = PolicyRule {
            id,
            user_id: user,
            scope: rule.scope().clone(),
            setting: rule.setting(),
            updated_at: now,
        };
        c.policies.insert(id, stored.clone());
        Ok(stored)
    }

    async fn delete_tool_policy(&self, user: UserId, scope: &PolicyScope) -> Result<(), StoreError> {
        let mut s = self.state();
        let id = s
            .consent
            .policies
            .values()
            .find(|r| r.user_id == user && &r.scope == scope)
            .map(|r| r.id)
            .ok_or(StoreError::NotFound)?;
        s.consent.policies.remove(&id);
        Ok(())
    }

    async fn list_tool_policies(&self, user: UserId, page: Page<ToolPolicyId>) -> Result<Vec<PolicyRule>, StoreError> {
        let s = self.state();
        let mine = s.consent.policies.iter().filter(|(_, r)| r.user_id == user);
        Ok(newest_first(mine.map(|(id, r)| (*id, r.clone())), page))
    }
}

#[async_trait::async_trait]
impl ApprovalStore for MemoryStore {
    async fn create_approvals(
        &self,
        user: UserId,
        conversation: ConversationId,
        approvals: &[NewApproval],
    ) -> Result<Vec<Approval>, StoreError> {
        let mut s = self.state();
        s.conversation(user, conversation)?;
        let now = s.clock.now();
        let c = &mut s.consent;
        let mut batch = None;
        let mut created = Vec::new();
        for new in approvals {
            let id = ApprovalId(next(&mut c.next_approval));
            let approval = Approval {
                id,
                user_id: user,
                conversation_id: conversation,
                batch: *batch.get_or_insert(id),
                message_id: new.message_id,
                call_id: new.call_id.clone(),
                toolkit: new.toolkit.clone(),
                tool: new.tool.clone(),
                arguments: new.arguments.clone(),
                summary: new.summary.clone(),
                state: ApprovalState::Pending,
                result: None,
                created_at: now,
                expires_at: new.expires_at.map(stored),
            };
            c.approvals.insert(id, approval.clone());
            created.push(approval);
        }
        Ok(created)
    }

    async fn get_approval(&self, user: UserId, id: ApprovalId) -> Result<Approval, StoreError> {
        self.state().consent.approval_mut(user, id).map(|a| a.clone())
    }

    async fn pending_approvals(&self, user: UserId, conversation: ConversationId) -> Result<Vec<Approval>, StoreError> {
        Ok(self
            .state()
            .consent
            .approvals
            .values()
            .filter(|a| a.user_id == user && a.conversation_id == conversation && a.is_pending())
            .cloned()
            .collect())
    }

    async fn approval_batch(&self, user: UserId, batch: ApprovalId) -> Result<Vec<Approval>, StoreError> {
        Ok(self
            .state()
            .consent
            .approvals
            .values()
            .filter(|a| a.user_id == user && a.batch == batch)
            .cloned()
            .collect())
    }

    async fn resolve_approval(
        &self,
        user: UserId,
        id: ApprovalId,
        resolution: &Resolution,
        at: DateTime<Utc>,
    ) -> Result<Approval, StoreError> {
        let mut s = self.state();
        let approval = s.consent.approval_mut(user, id)?;
        if !approval.is_pending() {
            return Err(StoreError::Conflict("the approval is no longer pending".into()));
        }
        approval.state = ApprovalState::Decided {
            resolution: resolution.clone(),
            at: stored(at),
        };
        Ok(approval.clone())
    }

    async fn set_approval_result(&self, user: UserId, id: ApprovalId, result: &str) -> Result<(), StoreError> {
        self.state().consent.approval_mut(user, id)?.result = Some(result.to_owned());
        Ok(())
    }

    async fn list_approvals(&self, user: UserId, page: Page<ApprovalId>) -> Result<Vec<Approval>, StoreError> {
        let s = self.state();
        let mine = s.consent.approvals.iter().filter(|(_, a)| a.user_id == user);
        Ok(newest_first(mine.map(|(id, a)| (*id, a.clone())), page))
    }
}

#[async_trait::async_trait]
impl ActionStore for MemoryStore {
    async fn record_action(&self, user: UserId, action: &NewAction) -> Result<ActionRecord, StoreError> {
        let mut s = self.state();
        if !s.users.contains_key(&user) {
            return Err(StoreError::NotFound);
        }
        let now = s.clock.now();
        let c = &mut s.consent;
        let record = ActionRecord {
            id: ActionId(next(&mut c.next_action)),
            user_id: user,
            call: action.call.clone(),
            decision: action.decision,
            outcome: action.outcome.clone(),
            provider_ids: action.provider_ids.clone(),
            created_at: now,
        };
        c.actions.insert(record.id, record.clone());
        Ok(record)
    }

    async fn list_actions(
        &self,
        user: UserId,
        filter: &ActionFilter,
        page: Page<ActionId>,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let s = self.state();
        let matching = s.consent.actions.iter().filter(|(_, a)| {
            a.user_id == user
                && filter.conversation.is_none_or(|c| a.call.conversation_id == Some(c))
                && filter.toolkit.as_ref().is_none_or(|t| &a.call.toolkit == t)
        });
        Ok(newest_first(matching.map(|(id, a)| (*id, a.clone())), page))
    }
}

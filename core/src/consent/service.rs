//! The consent use cases the edge serves: a person's tool policies, their pending approvals and
//! their action log. Decisions start runs, so they belong to [`crate::turn::Turns::decide`].

use super::settle::{self, MAX_RULES};
use super::{
    ActionFilter, ActionRecord, Approval, ApprovalMode, Consent, NewPolicyRule, PolicyRule, PolicyScope, PolicySetting,
    PolicySource, ToolName, ToolPolicy,
};
use crate::model::ToolHints;
use crate::turn::ToolExecutor;
use crate::{ActionId, ConversationId, CoreError, Page, Store, StoreError, ToolkitSlug, UserId};
use std::sync::Arc;

/// A tool the person can use now, with the policy that applies to it.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectivePolicy {
    pub toolkit: String,
    pub tool: String,
    pub hints: ToolHints,
    pub policy: ToolPolicy,
    pub source: PolicySource,
}

/// A person's policies: the operator's mode, their rules, and where that leaves their tools.
#[derive(Debug, Clone)]
pub struct PolicyOverview {
    pub mode: ApprovalMode,
    pub rules: Vec<PolicyRule>,
    /// Empty when no toolkit is configured or the toolkit service is unreachable.
    pub tools: Vec<EffectivePolicy>,
}

#[derive(Clone)]
pub struct ToolConsent {
    store: Arc<dyn Store>,
    tools: Option<Arc<dyn ToolExecutor>>,
    consent: Consent,
}

fn scope(toolkit: &str, tool: Option<&str>) -> Result<PolicyScope, CoreError> {
    let toolkit =
        ToolkitSlug::parse(toolkit).ok_or_else(|| CoreError::Invalid(format!("Invalid toolkit: {toolkit:?}")))?;
    Ok(match tool {
        None => PolicyScope::Toolkit(toolkit),
        Some(raw) => PolicyScope::Tool {
            toolkit,
            tool: ToolName::parse(raw).ok_or_else(|| {
                CoreError::Invalid(format!(
                    "Invalid tool name: 1 to {} letters, digits, `_` or `-`",
                    ToolName::MAX_LEN
                ))
            })?,
        },
    })
}

impl ToolConsent {
    pub fn new(store: Arc<dyn Store>, tools: Option<Arc<dyn ToolExecutor>>, consent: Consent) -> Self {
        Self { store, tools, consent }
    }

    pub fn mode(&self) -> ApprovalMode {
        self.consent.settings.mode
    }

    pub async fn policies(&self, user: UserId) -> Result<PolicyOverview, CoreError> {
        let policies = settle::policies(&*self.store, &self.consent, user)
            .await
            .map_err(CoreError::store("User"))?;
        let available = match &self.tools {
            Some(t) => t.available(user).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "toolkits unavailable: listing policies without tools");
                Vec::new()
            }),
            None => Vec::new(),
        };
        let tools = available
            .into_iter()
            .map(|spec| {
                let toolkit = spec.toolkit();
                let (policy, source) = policies.resolve(&toolkit, &spec.name, &spec.hints);
                EffectivePolicy {
                    toolkit,
                    tool: spec.name,
                    hints: spec.hints,
                    policy,
                    source,
                }
            })
            .collect();
        Ok(PolicyOverview {
            mode: policies.mode,
            rules: policies.rules,
            tools,
        })
    }

    /// Sets the rule of a toolkit (`tool: None`) or of one tool. `setting`: `auto`, `ask`,
    /// `never`, or (toolkits only) `drafts_only`.
    pub async fn set_policy(
        &self,
        user: UserId,
        toolkit: &str,
        tool: Option<&str>,
        setting: PolicySetting,
    ) -> Result<PolicyRule, CoreError> {
        let rule = NewPolicyRule::new(scope(toolkit, tool)?, setting).map_err(CoreError::Invalid)?;
        let existing = self
            .store
            .list_tool_policies(
                user,
                Page {
                    limit: Some(MAX_RULES),
                    before: None,
                },
            )
            .await
            .map_err(CoreError::store("User"))?;
        if existing.len() as u64 >= MAX_RULES && !existing.iter().any(|r| &r.scope == rule.scope()) {
            return Err(CoreError::Invalid(format!(
                "At most {MAX_RULES} tool policies: remove some first"
            )));
        }
        self.store
            .put_tool_policy(user, &rule)
            .await
            .map_err(CoreError::store("User"))
    }

    /// Removes a rule: the toolkit or tool is back to its default.
    pub async fn clear_policy(&self, user: UserId, toolkit: &str, tool: Option<&str>) -> Result<(), CoreError> {
        self.store
            .delete_tool_policy(user, &scope(toolkit, tool)?)
            .await
            .map_err(CoreError::store("Tool policy"))
    }

    /// The conversation's pending approvals (expired ones are denied first), oldest first.
    pub async fn pending(&self, user: UserId, conversation: ConversationId) -> Result<Vec<Approval>, CoreError> {
        self.store
            .get_conversation(user, conversation)
            .await
            .map_err(CoreError::store("Conversation"))?;
        settle::pending(&*self.store, &self.consent, user, conversation)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    /// The action log, newest first. A conversation filter works for deleted conversations too
    /// (the log outlives them), and shows only the person's own entries.
    pub async fn actions(
        &self,
        user: UserId,
        filter: &ActionFilter,
        page: Page<ActionId>,
    ) -> Result<Vec<ActionRecord>, CoreError> {
        self.store.list_actions(user, filter, page).await.map_err(|e| match e {
            StoreError::NotFound => CoreError::NotFound("Action"),
            other => CoreError::store("Action")(other),
        })
    }
}

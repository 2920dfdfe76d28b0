//! A person's tool policies: which tools run at once (`auto`), ask first (`ask`), or are never
//! offered (`never`), per toolkit (also `drafts_only`) or per tool, over the operator's default.

use super::conversations::Done;
use super::session::Authenticated;
use super::{ApiError, ApiTags};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use meai_core::consent::{
    ApprovalMode, EffectivePolicy, PolicyOverview, PolicyRule, PolicySetting, PolicySource, ToolPolicy,
};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{Enum, Object, OpenApi, payload::Json};

pub struct ToolPoliciesApi;

/// A person's setting: `drafts_only` (toolkits only) never offers the toolkit's send tools and
/// runs its draft tools at once.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
enum ToolPolicySetting {
    Auto,
    Ask,
    Never,
    DraftsOnly,
}

impl From<ToolPolicySetting> for PolicySetting {
    fn from(v: ToolPolicySetting) -> Self {
        match v {
            ToolPolicySetting::Auto => Self::Auto,
            ToolPolicySetting::Ask => Self::Ask,
            ToolPolicySetting::Never => Self::Never,
            ToolPolicySetting::DraftsOnly => Self::DraftsOnly,
        }
    }
}

impl From<PolicySetting> for ToolPolicySetting {
    fn from(s: PolicySetting) -> Self {
        match s {
            PolicySetting::Auto => Self::Auto,
            PolicySetting::Ask => Self::Ask,
            PolicySetting::Never => Self::Never,
            PolicySetting::DraftsOnly => Self::DraftsOnly,
        }
    }
}

/// How a tool's calls run.
#[derive(Debug, Enum)]
#[oai(rename_all = "lowercase")]
enum ToolPolicyValue {
    Auto,
    Ask,
    Never,
}

/// The operator's default (`TOOL_APPROVAL`).
#[derive(Debug, Enum)]
#[oai(rename_all = "snake_case")]
enum ApprovalModeValue {
    AskWrites,
    AskAll,
    Auto,
}

/// Where a tool's policy comes from.
#[derive(Debug, Enum)]
#[oai(rename_all = "lowercase")]
enum ToolPolicySource {
    Default,
    Toolkit,
    Tool,
}

/// A rule the person set.
#[derive(Debug, Object)]
pub(super) struct PolicyRuleOut {
    toolkit: String,
    /// Null for a rule of the whole toolkit.
    #[oai(nullable)]
    tool: Option<String>,
    policy: ToolPolicySetting,
    updated_at: DateTime<Utc>,
}

impl From<PolicyRule> for PolicyRuleOut {
    fn from(r: PolicyRule) -> Self {
        Self {
            toolkit: r.scope.toolkit().as_str().to_owned(),
            tool: r.scope.tool().map(|t| t.as_str().to_owned()),
            policy: r.setting.into(),
            updated_at: r.updated_at,
        }
    }
}

/// What a tool says about its effects (MCP-style hints; null: not said).
#[derive(Debug, Object)]
struct ToolHintsOut {
    #[oai(nullable)]
    read_only: Option<bool>,
    #[oai(nullable)]
    destructive: Option<bool>,
    #[oai(nullable)]
    idempotent: Option<bool>,
    #[oai(nullable)]
    open_world: Option<bool>,
}

/// A tool the person can use now, and how its calls run.
#[derive(Debug, Object)]
struct EffectivePolicyOut {
    toolkit: String,
    tool: String,
    policy: ToolPolicyValue,
    source: ToolPolicySource,
    hints: ToolHintsOut,
}

impl From<EffectivePolicy> for EffectivePolicyOut {
    fn from(e: EffectivePolicy) -> Self {
        Self {
            toolkit: e.toolkit,
            tool: e.tool,
            policy: match e.policy {
                ToolPolicy::Auto => ToolPolicyValue::Auto,
                ToolPolicy::Ask => ToolPolicyValue::Ask,
                ToolPolicy::Never => ToolPolicyValue::Never,
            },
            source: match e.source {
                PolicySource::Default => ToolPolicySource::Default,
                PolicySource::Toolkit => ToolPolicySource::Toolkit,
                PolicySource::Tool => ToolPolicySource::Tool,
            },
            hints: ToolHintsOut {
                read_only: e.hints.read_only,
                destructive: e.hints.destructive,
                idempotent: e.hints.idempotent,
                open_world: e.hints.open_world,
            },
        }
    }
}

/// The operator's default, the person's rules, and the policy of each tool they can use now.
#[derive(Debug, Object)]
struct PoliciesOut {
    mode: ApprovalModeValue,
    rules: Vec<PolicyRuleOut>,
    /// Empty without connected toolkits (or while Composio is unreachable).
    tools: Vec<EffectivePolicyOut>,
}

impl From<PolicyOverview> for PoliciesOut {
    fn from(o: PolicyOverview) -> Self {
        Self {
            mode: match o.mode {
                ApprovalMode::AskWrites => ApprovalModeValue::AskWrites,
                ApprovalMode::AskAll => ApprovalModeValue::AskAll,
                ApprovalMode::Auto => ApprovalModeValue::Auto,
            },
            rules: o.rules.into_iter().map(Into::into).collect(),
            tools: o.tools.into_iter().map(Into::into).collect(),
        }
    }
}

/// A new setting.
#[derive(Debug, Object)]
struct SetPolicy {
    policy: ToolPolicySetting,
}

/// A tool's own setting: `drafts_only` is a toolkit's.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
enum ToolRuleSetting {
    Auto,
    Ask,
    Never,
}

impl From<ToolRuleSetting> for PolicySetting {
    fn from(v: ToolRuleSetting) -> Self {
        match v {
            ToolRuleSetting::Auto => Self::Auto,
            ToolRuleSetting::Ask => Self::Ask,
            ToolRuleSetting::Never => Self::Never,
        }
    }
}

/// A tool's new setting.
#[derive(Debug, Object)]
struct SetToolPolicy {
    policy: ToolRuleSetting,
}

#[OpenApi(tag = "ApiTags::Consent")]
impl ToolPoliciesApi {
    /// Tool policies
    ///
    /// The operator's default (`ask_writes`: tools declared read-only run at once, every other
    /// tool asks; `ask_all`; `auto`), the person's rules (a tool's rule wins over its toolkit's),
    /// and the effective policy of every tool of their connected toolkits.
    #[oai(path = "/tool-policies", method = "get", operation_id = "getToolPolicies")]
    async fn get(&self, state: Data<&AppState>, session: Authenticated) -> Result<Json<PoliciesOut>, ApiError> {
        Ok(Json(state.consent.policies(session.0.user_id).await?.into()))
    }

    /// Set a toolkit's policy
    ///
    /// `auto`, `ask` or `never` for every tool of the toolkit without a rule of its own, or
    /// `drafts_only`: its send tools are never offered, its draft tools run at once. 400 for an
    /// invalid toolkit slug.
    #[oai(path = "/tool-policies/:toolkit", method = "put", operation_id = "setToolkitPolicy")]
    async fn set_toolkit(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The toolkit, e.g. `GMAIL` (any case).
        #[oai(validator(pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        toolkit: Path<String>,
        body: Json<SetPolicy>,
    ) -> Result<Json<PolicyRuleOut>, ApiError> {
        let rule = state
            .consent
            .set_policy(session.0.user_id, &toolkit.0, None, body.0.policy.into())
            .await?;
        Ok(Json(rule.into()))
    }

    /// Set a tool's policy
    ///
    /// `auto` (e.g. "always allow"), `ask` or `never` for one tool; it wins over the toolkit's
    /// rule (`drafts_only` is a toolkit's setting). 400 for an invalid name.
    #[oai(
        path = "/tool-policies/:toolkit/:tool",
        method = "put",
        operation_id = "setToolPolicy"
    )]
    async fn set_tool(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The tool's toolkit, e.g. `GMAIL` (any case).
        #[oai(validator(pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        toolkit: Path<String>,
        /// The tool, e.g. `GMAIL_SEND_EMAIL`.
        #[oai(validator(pattern = r"^[A-Za-z0-9_-]{1,128}$"))]
        tool: Path<String>,
        body: Json<SetToolPolicy>,
    ) -> Result<Json<PolicyRuleOut>, ApiError> {
        let rule = state
            .consent
            .set_policy(session.0.user_id, &toolkit.0, Some(&tool.0), body.0.policy.into())
            .await?;
        Ok(Json(rule.into()))
    }

    /// Remove a toolkit's policy
    ///
    /// Its tools are back to the default. 404 when the toolkit has no rule.
    #[oai(
        path = "/tool-policies/:toolkit",
        method = "delete",
        operation_id = "clearToolkitPolicy"
    )]
    async fn clear_toolkit(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The toolkit, e.g. `GMAIL` (any case).
        #[oai(validator(pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        toolkit: Path<String>,
    ) -> Result<Json<Done>, ApiError> {
        state.consent.clear_policy(session.0.user_id, &toolkit.0, None).await?;
        Ok(Json(Done {
            message: "Tool policy removed".into(),
        }))
    }

    /// Remove a tool's policy
    ///
    /// The tool is back to its toolkit's rule, or the default. 404 when the tool has no rule.
    #[oai(
        path = "/tool-policies/:toolkit/:tool",
        method = "delete",
        operation_id = "clearToolPolicy"
    )]
    async fn clear_tool(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The tool's toolkit, e.g. `GMAIL` (any case).
        #[oai(validator(pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        toolkit: Path<String>,
        /// The tool, e.g. `GMAIL_SEND_EMAIL`.
        #[oai(validator(pattern = r"^[A-Za-z0-9_-]{1,128}$"))]
        tool: Path<String>,
    ) -> Result<Json<Done>, ApiError> {
        state
            .consent
            .clear_policy(session.0.user_id, &toolkit.0, Some(&tool.0))
            .await?;
        Ok(Json(Done {
            message: "Tool policy removed".into(),
        }))
    }
}

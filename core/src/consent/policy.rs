//! Which tool calls run at once, which need the person's decision, and which are never offered.
//!
//! The default comes from the operator's [`ApprovalMode`] and the tool's own [`ToolHints`]: under
//! `ask_writes` (the default) a tool that declares itself read-only runs at once and every other
//! one asks (no hint means it may write). A person's rules override the default, per toolkit or
//! per tool; the tool rule wins. A toolkit may also be set to [`PolicySetting::DraftsOnly`]: its
//! send tools are never offered, its draft tools run at once, the others keep their default.
//!
//! A tool is identified by its source (the toolkit, e.g. `GMAIL`, or another tool source) and its
//! name, so every source of tools maps onto the same rules.

use crate::model::ToolHints;
use crate::{ToolPolicyId, ToolkitSlug, UserId};
use chrono::{DateTime, Utc};

/// How a call of a tool may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolPolicy {
    /// Runs as soon as the model asks.
    Auto,
    /// Waits for the person's decision.
    Ask,
    /// Not offered to the model; refused if called anyway.
    Never,
}

impl ToolPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Ask => "ask",
            Self::Never => "never",
        }
    }
}

/// The operator's default (`TOOL_APPROVAL`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApprovalMode {
    /// Read-only tools run at once; every other tool asks.
    #[default]
    AskWrites,
    /// Every tool asks.
    AskAll,
    /// Every tool runs at once (the behaviour before approvals existed).
    Auto,
}

impl ApprovalMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AskWrites => "ask_writes",
            Self::AskAll => "ask_all",
            Self::Auto => "auto",
        }
    }

    /// The policy of a tool no rule covers.
    pub fn default_for(self, hints: &ToolHints) -> ToolPolicy {
        match self {
            Self::Auto => ToolPolicy::Auto,
            Self::AskAll => ToolPolicy::Ask,
            Self::AskWrites if hints.is_read_only() => ToolPolicy::Auto,
            Self::AskWrites => ToolPolicy::Ask,
        }
    }
}

/// What a person sets for a toolkit or a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicySetting {
    Auto,
    Ask,
    Never,
    /// Toolkits only: send tools `never`, draft tools `auto`, the rest as by default.
    DraftsOnly,
}

impl PolicySetting {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Ask => "ask",
            Self::Never => "never",
            Self::DraftsOnly => "drafts_only",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "ask" => Some(Self::Ask),
            "never" => Some(Self::Never),
            "drafts_only" => Some(Self::DraftsOnly),
            _ => None,
        }
    }
}

/// A tool's name within its source: 1 to 128 of `A-Z a-z 0-9 _ -` (what models accept as
/// function names, and every source's tool names).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ToolName(String);

impl ToolName {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim();
        (!s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ToolName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a rule covers: a whole toolkit, or one of its tools.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyScope {
    Toolkit(ToolkitSlug),
    Tool { toolkit: ToolkitSlug, tool: ToolName },
}

impl PolicyScope {
    pub fn toolkit(&self) -> &ToolkitSlug {
        match self {
            Self::Toolkit(t) | Self::Tool { toolkit: t, .. } => t,
        }
    }

    pub fn tool(&self) -> Option<&ToolName> {
        match self {
            Self::Toolkit(_) => None,
            Self::Tool { tool, .. } => Some(tool),
        }
    }
}

/// A rule to store: [`NewPolicyRule::new`] refuses a drafts-only stance on a single tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicyRule {
    scope: PolicyScope,
    setting: PolicySetting,
}

impl NewPolicyRule {
    pub fn new(scope: PolicyScope, setting: PolicySetting) -> Result<Self, String> {
        if setting == PolicySetting::DraftsOnly && scope.tool().is_some() {
            return Err("drafts_only applies to a toolkit, not to a single tool".into());
        }
        Ok(Self { scope, setting })
    }

    pub fn scope(&self) -> &PolicyScope {
        &self.scope
    }

    pub fn setting(&self) -> PolicySetting {
        self.setting
    }
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    pub id: ToolPolicyId,
    pub user_id: UserId,
    pub scope: PolicyScope,
    pub setting: PolicySetting,
    pub updated_at: DateTime<Utc>,
}

/// Where a tool's effective policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    /// The operator's mode and the tool's hints.
    Default,
    /// The person's rule for the toolkit.
    Toolkit,
    /// The person's rule for the tool.
    Tool,
}

impl PolicySource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Toolkit => "toolkit",
            Self::Tool => "tool",
        }
    }
}

/// Words of a tool name that deliver something to other people.
const SEND_WORDS: &[&str] = &["SEND", "SENDS", "REPLY", "FORWARD", "POST", "TWEET", "PUBLISH"];

fn words(tool: &str) -> impl Iterator<Item = String> + '_ {
    tool.split(['_', '-']).map(str::to_ascii_uppercase)
}

/// A tool that delivers something to someone (sends an e-mail, posts a message): named so and
/// not declared read-only (`TWITTER_POST_LOOKUP` reads).
pub fn is_send_tool(tool: &str, hints: &ToolHints) -> bool {
    !hints.is_read_only() && words(tool).any(|w| SEND_WORDS.contains(&w.as_str()))
}

/// A tool that writes a draft and sends nothing (`GMAIL_CREATE_EMAIL_DRAFT`, not
/// `GMAIL_SEND_DRAFT`).
pub fn is_draft_tool(tool: &str, hints: &ToolHints) -> bool {
    !is_send_tool(tool, hints) && words(tool).any(|w| w == "DRAFT" || w == "DRAFTS")
}

/// The operator's mode with a person's rules: what decides every tool call of that person.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub mode: ApprovalMode,
    pub rules: Vec<PolicyRule>,
}

impl Policies {
    pub fn new(mode: ApprovalMode, rules: Vec<PolicyRule>) -> Self {
        Self { mode, rules }
    }

    /// The policy of `tool` of `toolkit` (upper-case, as [`crate::model::ToolSpec::toolkit`]
    /// gives it), and where it came from.
    pub fn resolve(&self, toolkit: &str, tool: &str, hints: &ToolHints) -> (ToolPolicy, PolicySource) {
        let same_toolkit = |r: &&PolicyRule| r.scope.toolkit().as_str() == toolkit;
        let for_tool = self
            .rules
            .iter()
            .filter(same_toolkit)
            .find(|r| r.scope.tool().is_some_and(|t| t.as_str() == tool));
        if let Some(rule) = for_tool {
            let policy = match rule.setting {
                PolicySetting::Auto => ToolPolicy::Auto,
                PolicySetting::Ask => ToolPolicy::Ask,
                PolicySetting::Never => ToolPolicy::Never,
                // Not storable (NewPolicyRule refuses it); read as the default.
                PolicySetting::DraftsOnly => self.mode.default_for(hints),
            };
            return (policy, PolicySource::Tool);
        }
        let for_toolkit = self
            .rules
            .iter()
            .filter(same_toolkit)
            .find(|r| r.scope.tool().is_none());
        match for_toolkit.map(|r| r.setting) {
            Some(PolicySetting::Auto) => (ToolPolicy::Auto, PolicySource::Toolkit),
            Some(PolicySetting::Ask) => (ToolPolicy::Ask, PolicySource::Toolkit),
            Some(PolicySetting::Never) => (ToolPolicy::Never, PolicySource::Toolkit),
            Some(PolicySetting::DraftsOnly) if is_send_tool(tool, hints) => (ToolPolicy::Never, PolicySource::Toolkit),
            Some(PolicySetting::DraftsOnly) if is_draft_tool(tool, hints) => (ToolPolicy::Auto, PolicySource::Toolkit),
            Some(PolicySetting::DraftsOnly) | None => (self.mode.default_for(hints), PolicySource::Default),
        }
    }

    pub fn policy(&self, toolkit: &str, tool: &str, hints: &ToolHints) -> ToolPolicy {
        self.resolve(toolkit, tool, hints).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(toolkit: &str, tool: Option<&str>, setting: PolicySetting) -> PolicyRule {
        let toolkit = ToolkitSlug::parse(toolkit).unwrap();
        let scope = match tool {
            Some(t) => PolicyScope::Tool {
                toolkit,
                tool: ToolName::parse(t).unwrap(),
            },
            None => PolicyScope::Toolkit(toolkit),
        };
        PolicyRule {
            id: ToolPolicyId(1),
            user_id: UserId(1),
            scope,
            setting,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_default_asks_for_everything_not_declared_read_only() {
        let p = Policies::default();
        assert_eq!(
            p.policy("GMAIL", "GMAIL_FETCH_EMAILS", &ToolHints::read_only()),
            ToolPolicy::Auto
        );
        assert_eq!(
            p.policy("GMAIL", "GMAIL_SEND_EMAIL", &ToolHints::writes()),
            ToolPolicy::Ask
        );
        assert_eq!(
            p.policy("GMAIL", "GMAIL_NO_HINTS", &ToolHints::default()),
            ToolPolicy::Ask
        );
        let all = Policies::new(ApprovalMode::AskAll, vec![]);
        assert_eq!(
            all.policy("GMAIL", "GMAIL_FETCH_EMAILS", &ToolHints::read_only()),
            ToolPolicy::Ask
        );
        let auto = Policies::new(ApprovalMode::Auto, vec![]);
        assert_eq!(
            auto.policy("GMAIL", "GMAIL_SEND_EMAIL", &ToolHints::writes()),
            ToolPolicy::Auto
        );
    }

    #[test]
    fn a_tool_rule_beats_a_toolkit_rule_which_beats_the_default() {
        let p = Policies::new(
            ApprovalMode::AskWrites,
            vec![
                rule("GMAIL", None, PolicySetting::Never),
                rule("GMAIL", Some("GMAIL_SEND_EMAIL"), PolicySetting::Auto),
            ],
        );
        assert_eq!(
            p.resolve("GMAIL", "GMAIL_SEND_EMAIL", &ToolHints::writes()),
            (ToolPolicy::Auto, PolicySource::Tool)
        );
        assert_eq!(
            p.resolve("GMAIL", "GMAIL_FETCH_EMAILS", &ToolHints::read_only()),
            (ToolPolicy::Never, PolicySource::Toolkit)
        );
        assert_eq!(
            p.resolve("NOTION", "NOTION_CREATE_PAGE", &ToolHints::writes()),
            (ToolPolicy::Ask, PolicySource::Default)
        );
    }

    #[test]
    fn drafts_only_blocks_sending_and_allows_drafts() {
        let p = Policies::new(
            ApprovalMode::AskWrites,
            vec![rule("GMAIL", None, PolicySetting::DraftsOnly)],
        );
        let w = ToolHints::writes();
        assert_eq!(p.policy("GMAIL", "GMAIL_SEND_EMAIL", &w), ToolPolicy::Never);
        assert_eq!(p.policy("GMAIL", "GMAIL_SEND_DRAFT", &w), ToolPolicy::Never);
        assert_eq!(p.policy("GMAIL", "GMAIL_REPLY_TO_THREAD", &w), ToolPolicy::Never);
        assert_eq!(p.policy("GMAIL", "GMAIL_CREATE_EMAIL_DRAFT", &w), ToolPolicy::Auto);
        assert_eq!(p.policy("GMAIL", "GMAIL_CREATE_LABEL", &w), ToolPolicy::Ask);
        assert_eq!(
            p.policy("GMAIL", "GMAIL_FETCH_EMAILS", &ToolHints::read_only()),
            ToolPolicy::Auto
        );
        // A read-only tool named with a send word is not a send tool.
        assert!(!is_send_tool("TWITTER_POST_LOOKUP_BY_POST_ID", &ToolHints::read_only()));
    }

    #[test]
    fn drafts_only_is_for_toolkits_and_names_are_bounded() {
        let gmail = ToolkitSlug::parse("gmail").unwrap();
        let tool = PolicyScope::Tool {
            toolkit: gmail.clone(),
            tool: ToolName::parse("GMAIL_SEND_EMAIL").unwrap(),
        };
        assert!(NewPolicyRule::new(tool.clone(), PolicySetting::DraftsOnly).is_err());
        assert!(NewPolicyRule::new(tool, PolicySetting::Never).is_ok());
        assert!(NewPolicyRule::new(PolicyScope::Toolkit(gmail), PolicySetting::DraftsOnly).is_ok());
        assert!(ToolName::parse("has space").is_none());
        assert!(ToolName::parse(&"x".repeat(129)).is_none());
        assert!(ToolName::parse("mcp_docs__search-all").is_some());
    }
}

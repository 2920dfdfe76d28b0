//! The action log: every tool call executed on a person's accounts, and every one refused,
//! kept when its conversation is deleted (it is the person's record of what happened to their
//! accounts) and removed only with the account.

use crate::{ActionId, ApprovalId, ConversationId, MessageId, UserId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// How a call came to run, or why it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionDecision {
    /// The tool's policy let it run at once.
    Auto,
    /// The person approved it as the model asked.
    Approved,
    /// The person approved it with arguments of their own.
    Edited,
    /// The person declined it.
    Denied,
    /// Nobody decided in time.
    Expired,
}

impl ActionDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Approved => "approved",
            Self::Edited => "edited",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "approved" => Some(Self::Approved),
            "edited" => Some(Self::Edited),
            "denied" => Some(Self::Denied),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// Why a call ran (the decisions that let it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    Auto,
    Approved,
    Edited,
}

/// Why a call did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Denied,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    Succeeded,
    /// The tool ran (or was tried) and failed; the failure as the model was told.
    Failed(String),
    /// Denied or expired: never executed.
    NotRun,
}

impl ActionOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed(_) => "failed",
            Self::NotRun => "not_run",
        }
    }
}

/// Which call an entry is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCall {
    pub conversation_id: Option<ConversationId>,
    /// The human message whose turn made the call.
    pub message_id: Option<MessageId>,
    pub approval_id: Option<ApprovalId>,
    pub toolkit: String,
    pub tool: String,
    /// As executed (or as they would have been), secrets redacted ([`super::redact`]).
    pub arguments: Value,
}

/// An entry to record; built by [`NewAction::ran`] or [`NewAction::not_run`], so a refused call
/// can never claim an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    pub call: ActionCall,
    pub decision: ActionDecision,
    pub outcome: ActionOutcome,
    /// Identifiers the provider returned (message id, event id, ...), an object.
    pub provider_ids: Value,
}

impl NewAction {
    pub fn ran(call: ActionCall, allowed: Allowed, result: Result<Value, String>) -> Self {
        let decision = match allowed {
            Allowed::Auto => ActionDecision::Auto,
            Allowed::Approved => ActionDecision::Approved,
            Allowed::Edited => ActionDecision::Edited,
        };
        let (outcome, provider_ids) = match result {
            Ok(data) => (ActionOutcome::Succeeded, super::provider_ids(&data)),
            Err(e) => (ActionOutcome::Failed(e), Value::Object(Default::default())),
        };
        Self {
            call,
            decision,
            outcome,
            provider_ids,
        }
    }

    pub fn not_run(call: ActionCall, refused: Refused) -> Self {
        Self {
            call,
            decision: match refused {
                Refused::Denied => ActionDecision::Denied,
                Refused::Expired => ActionDecision::Expired,
            },
            outcome: ActionOutcome::NotRun,
            provider_ids: Value::Object(Default::default()),
        }
    }
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    pub id: ActionId,
    pub user_id: UserId,
    pub call: ActionCall,
    pub decision: ActionDecision,
    pub outcome: ActionOutcome,
    pub provider_ids: Value,
    pub created_at: DateTime<Utc>,
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionFilter {
    pub conversation: Option<ConversationId>,
    /// Upper-case toolkit.
    pub toolkit: Option<String>,
}

//! A tool call waiting for (or past) the person's decision. Stored, not held in memory: a pending
//! approval survives reconnects, restarts and other instances, and the decision starts a new run.

use crate::{ApprovalId, ConversationId, MessageId, UserId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// How a person decided, or why no one did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// To be run with these arguments; `edited` when the person changed the model's.
    Approved {
        arguments: Value,
        edited: bool,
    },
    Denied,
    /// Nobody decided in time: the call is denied.
    Expired,
}

impl Resolution {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Approved { .. } => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalState {
    Pending,
    Decided { resolution: Resolution, at: DateTime<Utc> },
}

/// A stored approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub id: ApprovalId,
    pub user_id: UserId,
    pub conversation_id: ConversationId,
    /// The approvals asked in the same model step share the first one's id: the model hears
    /// back about all of them together, once each is decided.
    pub batch: ApprovalId,
    /// The human message whose turn asked.
    pub message_id: Option<MessageId>,
    /// The model's id for the call (the result it gets back carries it).
    pub call_id: String,
    pub toolkit: String,
    pub tool: String,
    /// The arguments as the model asked.
    pub arguments: Value,
    /// One line for a person: what the call would do.
    pub summary: String,
    pub state: ApprovalState,
    /// What the model was told about the call, once it is settled.
    pub result: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Approval {
    pub fn is_pending(&self) -> bool {
        self.state == ApprovalState::Pending
    }

    /// Pending, but past its expiry.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        self.is_pending() && self.expires_at.is_some_and(|at| at <= now)
    }

    pub fn resolution(&self) -> Option<&Resolution> {
        match &self.state {
            ApprovalState::Pending => None,
            ApprovalState::Decided { resolution, .. } => Some(resolution),
        }
    }
}

/// An approval to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApproval {
    pub message_id: Option<MessageId>,
    pub call_id: String,
    pub toolkit: String,
    pub tool: String,
    pub arguments: Value,
    pub summary: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a person decides about a pending call.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Run it, with `arguments` instead of the model's when given; `always_allow` also sets the
    /// tool's policy to `auto` for later calls.
    Approve {
        arguments: Option<Value>,
        always_allow: bool,
    },
    Deny,
}

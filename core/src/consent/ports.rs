//! What consent needs from outside the core: a JSON Schema validator for arguments a person
//! edited, and an observer that counts approvals (metrics live at the edge).

use serde_json::Value;

/// Checks arguments against a tool's input schema (a JSON Schema object).
pub trait ArgumentsValidator: Send + Sync + 'static {
    /// `Err` is a readable reason, shown to the person who edited the arguments.
    fn validate(&self, schema: &Value, arguments: &Value) -> Result<(), String>;
}

/// What happened to an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalEvent {
    Requested,
    Approved,
    Denied,
    Expired,
}

impl ApprovalEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }
}

/// Told about every approval requested and settled, by toolkit.
pub trait ApprovalObserver: Send + Sync + 'static {
    fn observe(&self, toolkit: &str, event: ApprovalEvent);
}

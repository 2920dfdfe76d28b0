//! Acting only with consent: which tool calls run at once and which wait for the person
//! ([`Policies`]), the calls waiting for a decision ([`Approval`]), and the record of every
//! action taken on a person's accounts ([`ActionRecord`]).
//!
//! The turn applies all of this where it runs tools (`crate::turn`): calls that may run, run;
//! for the others it stores an approval, asks in readable text plus a structured event, and ends.
//! A decision (an event, a REST call, or a plain "yes" from a client that knows nothing of
//! approvals) starts a new run that executes or skips the call and tells the model.

mod action;
mod approval;
mod policy;
mod ports;
mod provider_ids;
mod redact;
mod service;
mod settings;
pub(crate) mod settle;
pub mod text;

pub use action::{ActionCall, ActionDecision, ActionFilter, ActionOutcome, ActionRecord, Allowed, NewAction, Refused};
pub use approval::{Approval, ApprovalState, Decision, NewApproval, Resolution};
pub use policy::{
    ApprovalMode, NewPolicyRule, Policies, PolicyRule, PolicyScope, PolicySetting, PolicySource, ToolName, ToolPolicy,
    is_draft_tool, is_send_tool,
};
pub use ports::{ApprovalEvent, ApprovalObserver, ArgumentsValidator};
pub use provider_ids::provider_ids;
pub use redact::{REDACTED, redact};
pub use service::{EffectivePolicy, PolicyOverview, ToolConsent};
pub use settings::{Consent, ConsentSettings};
pub use settle::MAX_RULES;

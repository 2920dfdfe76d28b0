use super::{ApprovalEvent, ApprovalMode, ApprovalObserver, ArgumentsValidator};
use std::sync::Arc;

/// The operator's consent settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentSettings {
    /// The default policy of tools nobody set a rule for (`TOOL_APPROVAL`).
    pub mode: ApprovalMode,
    /// How long a pending approval waits before it is denied; `None`: forever.
    pub ttl: Option<chrono::Duration>,
}

impl Default for ConsentSettings {
    fn default() -> Self {
        Self {
            mode: ApprovalMode::AskWrites,
            ttl: Some(chrono::Duration::hours(24)),
        }
    }
}

/// Consent as the turn and the consent use cases need it: the settings and the optional ports.
/// Without a validator, edited arguments are only checked to be a JSON object.
#[derive(Clone, Default)]
pub struct Consent {
    pub settings: ConsentSettings,
    pub validator: Option<Arc<dyn ArgumentsValidator>>,
    pub observer: Option<Arc<dyn ApprovalObserver>>,
}

impl Consent {
    pub fn new(settings: ConsentSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    pub fn with_validator(mut self, validator: Arc<dyn ArgumentsValidator>) -> Self {
        self.validator = Some(validator);
        self
    }

    pub fn with_observer(mut self, observer: Arc<dyn ApprovalObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub(crate) fn observe(&self, toolkit: &str, event: ApprovalEvent) {
        if let Some(o) = &self.observer {
            o.observe(toolkit, event);
        }
    }
}

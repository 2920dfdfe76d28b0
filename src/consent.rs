//! Consent at the edge: the settings from configuration, the JSON Schema check of arguments a
//! person edited (the `jsonschema` crate, kept out of the core), and approval metrics.

use crate::config::{Config, ToolApproval};
use meai_core::consent::{ApprovalEvent, ApprovalMode, ApprovalObserver, ArgumentsValidator, Consent, ConsentSettings};
use serde_json::Value;
use std::sync::Arc;

/// Errors listed at most in a refusal.
const MAX_ERRORS: usize = 5;

pub fn settings(config: &Config) -> ConsentSettings {
    let mode = match config.tool_approval {
        ToolApproval::AskWrites => ApprovalMode::AskWrites,
        ToolApproval::AskAll => ApprovalMode::AskAll,
        ToolApproval::Auto => ApprovalMode::Auto,
    };
    let ttl = match config.tool_approval_ttl_seconds {
        0 => None,
        // Bounded so the expiry stays a representable date.
        secs => Some(chrono::Duration::seconds(secs.min(10 * 365 * 24 * 3600) as i64)),
    };
    ConsentSettings { mode, ttl }
}

/// Consent as configured, with the schema check and the metrics.
pub fn consent(config: &Config) -> Consent {
    Consent::new(settings(config))
        .with_validator(Arc::new(SchemaValidator))
        .with_observer(Arc::new(MeteredApprovals))
}

/// Validates arguments with the `jsonschema` crate (no remote `$ref`s: its resolvers are off).
pub struct SchemaValidator;

impl ArgumentsValidator for SchemaValidator {
    fn validate(&self, schema: &Value, arguments: &Value) -> Result<(), String> {
        let validator =
            jsonschema::validator_for(schema).map_err(|e| format!("the tool's schema cannot be used ({e})"))?;
        let errors: Vec<String> = validator
            .iter_errors(arguments)
            .take(MAX_ERRORS)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// Counts approvals by toolkit in `meai_tool_approvals_total`.
pub struct MeteredApprovals;

impl ApprovalObserver for MeteredApprovals {
    fn observe(&self, toolkit: &str, event: ApprovalEvent) {
        // Toolkits come from the tool catalogue; capped all the same, to keep series bounded.
        let toolkit: String = toolkit.chars().take(32).collect();
        crate::metrics::metrics()
            .tool_approvals
            .with_label_values(&[toolkit.as_str(), event.as_str()])
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn edited_arguments_are_held_to_the_schema() {
        let schema = json!({"type": "object", "properties": {"recipient_email": {"type": "string"}, "n": {"type": "integer"}},
                            "required": ["recipient_email"]});
        let v = SchemaValidator;
        assert!(
            v.validate(&schema, &json!({"recipient_email": "a@b.c", "n": 2}))
                .is_ok()
        );
        let missing = v.validate(&schema, &json!({"n": 2})).unwrap_err();
        assert!(missing.contains("recipient_email"), "{missing}");
        let wrong = v.validate(&schema, &json!({"recipient_email": 5})).unwrap_err();
        assert!(wrong.contains("/recipient_email"), "{wrong}");
        // Composio's own keywords (file_uploadable...) are ignored, not refused.
        let composio = json!({"type": "object", "properties": {"f": {"type": "string", "file_uploadable": true}}});
        assert!(v.validate(&composio, &json!({"f": "x"})).is_ok());
    }

    #[test]
    fn settings_come_from_the_configuration() {
        let vars = |pairs: &[(&str, &str)]| {
            let all = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()));
            Config::from_vars(all).unwrap()
        };
        let defaults = settings(&vars(&[]));
        assert_eq!(defaults.mode, ApprovalMode::AskWrites);
        assert_eq!(defaults.ttl, Some(chrono::Duration::hours(24)));
        let set = settings(&vars(&[
            ("TOOL_APPROVAL", "ASK_ALL"),
            ("TOOL_APPROVAL_TTL_SECONDS", "0"),
        ]));
        assert_eq!((set.mode, set.ttl), (ApprovalMode::AskAll, None));
        let e = Config::from_vars([("TOOL_APPROVAL".to_string(), "sometimes".to_string())]).unwrap_err();
        assert!(e.to_string().contains("TOOL_APPROVAL"), "{e}");
    }
}

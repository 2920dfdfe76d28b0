//! The client events' payloads, typed. A conversation id may come as a number (what the
//! frontend sends) or a string of digits; `message` is read by the same parser as the SSE body
//! ([`crate::turn_start::SendMessage`]).

use meai_core::ConversationId;
use serde::{Deserialize, Deserializer};

fn conversation_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ConversationId>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(ConversationId(n))),
        Some(Raw::Text(s)) => s
            .trim()
            .parse()
            .map(|n| Some(ConversationId(n)))
            .map_err(|_| serde::de::Error::custom("conversation_id must be a number")),
    }
}

/// The conversation an event is about; without one, the conversation the socket joined last.
#[derive(Debug, Default, Deserialize)]
pub struct Target {
    #[serde(default, deserialize_with = "conversation_id")]
    pub conversation_id: Option<ConversationId>,
}

/// `resume {conversation_id, after_seq}`.
#[derive(Debug, Default, Deserialize)]
pub struct Resume {
    #[serde(default, deserialize_with = "conversation_id")]
    pub conversation_id: Option<ConversationId>,
    /// The last sequence number the client saw (0: everything).
    #[serde(default)]
    pub after_seq: u64,
}

/// `tool_decision`'s target: the approval (required) in the conversation it names, or the one
/// joined last. The decision itself is read like the REST body ([`crate::turn_start::DecideApproval`]).
#[derive(Debug, Default, Deserialize)]
pub struct DecisionTarget {
    #[serde(default, deserialize_with = "conversation_id")]
    pub conversation_id: Option<ConversationId>,
    #[serde(default)]
    pub approval_id: Option<i64>,
}

/// A payload that names the conversation it is about (or not: then the one joined last).
pub trait Targeted: serde::de::DeserializeOwned + Default {
    fn conversation_id(&self) -> Option<ConversationId>;
}

impl Targeted for Target {
    fn conversation_id(&self) -> Option<ConversationId> {
        self.conversation_id
    }
}

impl Targeted for DecisionTarget {
    fn conversation_id(&self) -> Option<ConversationId> {
        self.conversation_id
    }
}

impl Targeted for Resume {
    fn conversation_id(&self) -> Option<ConversationId> {
        self.conversation_id
    }
}

/// Reads a payload; a missing one reads as `{}`.
pub fn parse<T: serde::de::DeserializeOwned + Default>(payload: &serde_json::Value) -> Result<T, String> {
    if payload.is_null() {
        return Ok(T::default());
    }
    T::deserialize(payload).map_err(|e| format!("Invalid request body: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_come_as_numbers_or_digit_strings() {
        let t: Target = parse(&json!({"conversation_id": 7})).unwrap();
        assert_eq!(t.conversation_id, Some(ConversationId(7)));
        let t: Target = parse(&json!({"conversation_id": " 8 "})).unwrap();
        assert_eq!(t.conversation_id, Some(ConversationId(8)));
        assert!(parse::<Target>(&json!({"conversation_id": "x"})).is_err());
        assert!(parse::<Target>(&json!("just text")).is_err());
        let r: Resume = parse(&json!(null)).unwrap();
        assert_eq!((r.conversation_id, r.after_seq), (None, 0));
    }
}

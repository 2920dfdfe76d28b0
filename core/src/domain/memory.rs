use super::{ConversationId, MemoryId, MessageId, UserId};
use chrono::{DateTime, Utc};

/// A memory's text: trimmed, non-empty, at most [`MemoryText::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoryText(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoryTextError {
    #[error("A memory needs some text")]
    Empty,
    #[error("A memory must be at most {} characters", MemoryText::MAX_CHARS)]
    TooLong,
    #[error("A memory must not contain the character U+0000")]
    Nul,
}

impl MemoryText {
    /// Memories are single facts, and every recalled one costs context on each turn.
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, MemoryTextError> {
        let t = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        // Counted as sent, as the API's schema says.
        if raw.chars().count() > Self::MAX_CHARS {
            Err(MemoryTextError::TooLong)
        } else if t.is_empty() {
            Err(MemoryTextError::Empty)
        } else if !super::text::storable(&t) {
            Err(MemoryTextError::Nul)
        } else {
            Ok(Self(t))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as compared for duplicates: case and punctuation do not make a new memory.
    pub fn fingerprint(&self) -> String {
        self.0
            .chars()
            .filter(|c| c.is_alphanumeric() || c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How a memory came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryOrigin {
    /// Extracted by the model from something the person said.
    Extracted,
    /// Written by the person.
    Person,
    /// Brought in by an import.
    Imported,
}

impl MemoryOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extracted => "extracted",
            Self::Person => "person",
            Self::Imported => "imported",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "extracted" => Some(Self::Extracted),
            "person" => Some(Self::Person),
            "imported" => Some(Self::Imported),
            _ => None,
        }
    }
}

/// The message a memory came from. The message may have been deleted since: the memory stays
/// (deleting a conversation does not make meAI forget what it learnt; deleting the memory does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemorySource {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
}

/// A durable fact about the person ("My dog is called Bartholomew"), which recall puts into
/// the context of later turns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryFact {
    pub id: MemoryId,
    pub user_id: UserId,
    pub content: MemoryText,
    pub origin: MemoryOrigin,
    pub source: Option<MemorySource>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMemory {
    pub content: MemoryText,
    pub origin: MemoryOrigin,
    pub source: Option<MemorySource>,
}

/// The person's memory switch. Off: nothing is extracted or recalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemorySwitch {
    pub enabled: bool,
    /// When the person last flipped it (`None`: never, memory is on by default). Messages
    /// written before memory was turned back on are never extracted.
    pub changed_at: Option<DateTime<Utc>>,
}

impl Default for MemorySwitch {
    fn default() -> Self {
        Self {
            enabled: true,
            changed_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_fingerprinted() {
        let t = MemoryText::parse("  My dog is   called Bartholomew. ").unwrap();
        assert_eq!(t.as_str(), "My dog is called Bartholomew.");
        assert_eq!(t.fingerprint(), "my dog is called bartholomew");
        assert_eq!(MemoryText::parse(" \n "), Err(MemoryTextError::Empty));
        assert_eq!(MemoryText::parse("a\u{0}b"), Err(MemoryTextError::Nul));
        assert_eq!(
            MemoryText::parse(&"x".repeat(MemoryText::MAX_CHARS + 1)),
            Err(MemoryTextError::TooLong)
        );
        assert!(MemoryText::parse(&"é".repeat(MemoryText::MAX_CHARS)).is_ok());
    }
}

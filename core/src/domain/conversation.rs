use super::{ConversationId, UserId};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub user_id: UserId,
    pub title: Option<Title>,
    pub summary: Option<String>,
    /// The chat model its turns use (one of the server's models); `None`: the default one.
    pub model: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A conversation title: trimmed, non-empty, at most [`Title::MAX_CHARS`] characters (as sent,
/// spaces included), without U+0000 ([`super::text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TitleError {
    #[error("Title is required")]
    Empty,
    #[error("Title must be at most {} characters", Title::MAX_CHARS)]
    TooLong,
    #[error("Title must not contain the character U+0000")]
    Nul,
}

impl Title {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, TitleError> {
        let t = raw.trim();
        if raw.chars().count() > Self::MAX_CHARS {
            Err(TitleError::TooLong)
        } else if t.is_empty() {
            Err(TitleError::Empty)
        } else if !super::text::storable(t) {
            Err(TitleError::Nul)
        } else {
            Ok(Self(t.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

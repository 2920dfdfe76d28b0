use super::{ConversationId, UserId};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub user_id: UserId,
    pub title: Option<Title>,
    pub summary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A conversation title: trimmed, non-empty, at most [`Title::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TitleError {
    #[error("Title is required")]
    Empty,
    #[error("Title must be at most {} characters", Title::MAX_CHARS)]
    TooLong,
}

impl Title {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, TitleError> {
        let t = raw.trim();
        if t.is_empty() {
            Err(TitleError::Empty)
        } else if t.chars().count() > Self::MAX_CHARS {
            Err(TitleError::TooLong)
        } else {
            Ok(Self(t.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

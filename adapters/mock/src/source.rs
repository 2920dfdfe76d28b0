//! [`MessageSource`] on the in-memory store: the same rules as the SQL one (scoped by user, only
//! what people and the assistant said is searched and reindexed).

use crate::MemoryStore;
use meai_core::memory::{FoundMessage, MessageSource};
use meai_core::{Message, MessageId, MessageKind, StoreError, UserId};

/// Words as a full-text index tokenizes them: runs of letters and digits, lower case.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn searched(m: &Message) -> bool {
    matches!(m.kind, MessageKind::Human | MessageKind::Ai)
}

#[async_trait::async_trait]
impl MessageSource for MemoryStore {
    async fn messages_by_ids(&self, user: UserId, ids: &[MessageId]) -> Result<Vec<FoundMessage>, StoreError> {
        Ok(self.found(|m| m.user_id == user && ids.contains(&m.id), usize::MAX, false))
    }

    async fn messages_matching(
        &self,
        user: UserId,
        terms: &[String],
        limit: usize,
    ) -> Result<Vec<FoundMessage>, StoreError> {
        let terms: Vec<Vec<String>> = terms.iter().map(|t| words(t)).filter(|w| !w.is_empty()).collect();
        let matches = |m: &Message| {
            let content = words(&m.content);
            let has = |word: &String| content.iter().any(|c| c.starts_with(word.as_str()));
            m.user_id == user && searched(m) && terms.iter().any(|term| term.iter().all(has))
        };
        Ok(self.found(matches, limit, true))
    }

    async fn messages_after(&self, after: Option<MessageId>, limit: usize) -> Result<Vec<Message>, StoreError> {
        let newer = |m: &Message| searched(m) && after.is_none_or(|a| m.id > a);
        Ok(self.found(newer, limit, false).into_iter().map(|f| f.message).collect())
    }
}

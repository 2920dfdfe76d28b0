//! [`MessageSource`] on the in-memory store: the same rules as the SQL one (scoped by user, only
//! what people and the assistant said is searched and reindexed).

use crate::MemoryStore;
use meai_core::memory::{FoundMessage, MessageSource};
use meai_core::{Message, MessageId, MessageKind, StoreError, UserId};

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
        let terms: Vec<String> = terms.iter().map(|t| t.to_lowercase()).collect();
        let matches = |m: &Message| {
            let content = m.content.to_lowercase();
            m.user_id == user && searched(m) && terms.iter().any(|t| content.contains(t.as_str()))
        };
        Ok(self.found(matches, limit, true))
    }

    async fn messages_after(&self, after: Option<MessageId>, limit: usize) -> Result<Vec<Message>, StoreError> {
        let newer = |m: &Message| searched(m) && after.is_none_or(|a| m.id > a);
        Ok(self.found(newer, limit, false).into_iter().map(|f| f.message).collect())
    }
}

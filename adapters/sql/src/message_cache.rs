//! Committed messages kept in memory by id, so a message page or a turn's history reads only
//! the conversation's tree from the database (one row) and takes the messages from here.
//!
//! Exact without invalidation, on every instance sharing the database: a message never changes
//! once its transaction has committed (the store has no update of one; an import places its
//! messages before it commits) and its id is never given again (`AUTOINCREMENT` on SQLite, a
//! sequence on PostgreSQL; the store contract checks it). Which messages a page holds, and that
//! they are the user's, still comes from the tree read on every request, so a deleted message is
//! never served from here: this instance's message deletes drop theirs, anything else is evicted
//! in time.

use meai_core::{Message, MessageId};
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use std::sync::Arc;

/// Bytes of messages kept by default (about 25,000 messages of 160 characters).
pub const DEFAULT_BUDGET_BYTES: u64 = 8 << 20;

/// What an entry costs beside its text: the message itself, its key and the cache's slot.
const ENTRY_OVERHEAD: u64 = 192;

/// An entry's weight: its strings and the overhead.
#[derive(Clone)]
struct Size;

impl Weighter<i64, Arc<Message>> for Size {
    fn weight(&self, _: &i64, m: &Arc<Message>) -> u64 {
        let text = m.content.len()
            + m.client_message_id.as_ref().map_or(0, |k| k.as_str().len())
            + m.usage.as_ref().map_or(0, |u| u.model.len());
        ENTRY_OVERHEAD + text as u64
    }
}

pub(crate) struct MessageCache(Cache<i64, Arc<Message>, Size>);

impl MessageCache {
    pub(crate) fn new(budget_bytes: u64) -> Self {
        let estimated_items = usize::try_from(budget_bytes / 512).unwrap_or(usize::MAX).max(64);
        Self(Cache::with_weighter(estimated_items, budget_bytes, Size))
    }

    pub(crate) fn get(&self, id: MessageId) -> Option<Message> {
        self.0.get(&id.0).map(|m| Message::clone(&m))
    }

    /// Keeps a committed message (never one of a transaction still open).
    pub(crate) fn put(&self, message: &Message) {
        self.0.insert(message.id.0, Arc::new(message.clone()));
    }

    /// Drops deleted messages, so their text does not linger until evicted.
    pub(crate) fn forget(&self, ids: &[i64]) {
        for id in ids {
            self.0.remove(id);
        }
    }
}

impl Default for MessageCache {
    fn default() -> Self {
        Self::new(DEFAULT_BUDGET_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meai_core::{ConversationId, MessageKind, UserId};

    fn message(id: i64, text_len: usize) -> Message {
        Message {
            id: MessageId(id),
            conversation_id: ConversationId(1),
            user_id: UserId(1),
            kind: MessageKind::Human,
            content: "x".repeat(text_len),
            client_message_id: None,
            parent_id: None,
            usage: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_budget_bounds_what_is_kept() {
        let cache = MessageCache::new(100 * 1024);
        for id in 0..1_000 {
            cache.put(&message(id, 1_024));
        }
        let kept = (0..1_000).filter(|&id| cache.get(MessageId(id)).is_some()).count();
        // 100 KiB holds at most 84 entries of 1,024 + 192 bytes.
        assert!(kept > 0 && kept <= 84, "{kept} messages kept");
        assert_eq!(cache.get(MessageId(999)).map(|m| m.content.len()), Some(1_024));
    }

    #[test]
    fn forgotten_messages_are_gone() {
        let cache = MessageCache::default();
        cache.put(&message(1, 10));
        cache.put(&message(2, 10));
        cache.forget(&[1]);
        assert!(cache.get(MessageId(1)).is_none());
        assert_eq!(cache.get(MessageId(2)).map(|m| m.id), Some(MessageId(2)));
    }
}

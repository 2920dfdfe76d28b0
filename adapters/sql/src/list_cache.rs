//! Users' first page of conversations kept in memory with the `conversations_version` it was
//! read at, so the conversation list reads one row of `users` instead of a page of
//! conversations (their decoding cost more than the rest of the request).
//!
//! Exact on every instance sharing the database: triggers bump a user's version in the same
//! statement as any insert or delete of their conversations and any change of a listed column,
//! whoever writes. The version is read before the page, so the page kept is at least as new as
//! its version: a write between the two reads leaves a newer version in the database, and the
//! next list reads the page again. User ids are never given again.

use meai_core::Conversation;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use std::sync::Arc;

/// Bytes of pages kept (about 10,000 users' first page of 100 short-titled conversations).
const BUDGET_BYTES: u64 = 4 << 20;

/// What an entry costs beside its conversations: the page, its key and the cache's slot.
const ENTRY_OVERHEAD: u64 = 96;

/// A user's first page of `limit` conversations as read at `version`.
pub(crate) struct Listed {
    pub(crate) version: i64,
    pub(crate) limit: u64,
    pub(crate) conversations: Vec<Conversation>,
}

#[derive(Clone)]
struct Size;

impl Weighter<i64, Arc<Listed>> for Size {
    fn weight(&self, _: &i64, listed: &Arc<Listed>) -> u64 {
        let text: usize = listed
            .conversations
            .iter()
            .map(|c| {
                c.title.as_ref().map_or(0, |t| t.as_str().len())
                    + c.summary.as_ref().map_or(0, String::len)
                    + c.model.as_ref().map_or(0, String::len)
            })
            .sum();
        ENTRY_OVERHEAD + (listed.conversations.len() * std::mem::size_of::<Conversation>() + text) as u64
    }
}

pub(crate) struct ListCache(Cache<i64, Arc<Listed>, Size>);

impl Default for ListCache {
    fn default() -> Self {
        Self(Cache::with_weighter(4096, BUDGET_BYTES, Size))
    }
}

impl ListCache {
    /// The page kept for `user` if it is one of `limit` conversations.
    pub(crate) fn get(&self, user: i64, limit: u64) -> Option<Arc<Listed>> {
        self.0.get(&user).filter(|listed| listed.limit == limit)
    }

    /// Keeps a page read after its version (see the module).
    pub(crate) fn put(&self, user: i64, listed: Listed) {
        self.0.insert(user, Arc::new(listed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use meai_core::{ConversationId, Title, UserId};

    fn page(titles: &[&str]) -> Listed {
        let now = Utc::now();
        Listed {
            version: 3,
            limit: 101,
            conversations: titles
                .iter()
                .enumerate()
                .map(|(i, t)| Conversation {
                    id: ConversationId(i as i64 + 1),
                    user_id: UserId(1),
                    title: Title::parse(t).ok(),
                    summary: None,
                    model: None,
                    created_at: now,
                    updated_at: now,
                })
                .collect(),
        }
    }

    #[test]
    fn a_page_is_kept_for_its_limit_only() {
        let cache = ListCache::default();
        cache.put(1, page(&["one", "two"]));
        assert_eq!(cache.get(1, 101).map(|l| l.conversations.len()), Some(2));
        assert!(cache.get(1, 51).is_none(), "another page size reads again");
        assert!(cache.get(2, 101).is_none(), "another user has nothing kept");
    }

    #[test]
    fn a_page_weighs_its_text() {
        let short = Arc::new(page(&["a"]));
        let long = Arc::new(page(&[&"b".repeat(200)]));
        assert_eq!(Size.weight(&1, &long) - Size.weight(&1, &short), 199);
    }
}

//! Conversations' trees kept in memory with the `tree_version` they were read at, so a message
//! page or a turn's history reads one row of `conversations` (the leaf and the version) instead
//! of aggregating every message of the conversation.
//!
//! Exact on every instance sharing the database: triggers bump a conversation's version in the
//! same statement as any insert, delete or update of its messages (whoever writes), and a tree
//! is kept only when read outside a transaction, so the version it is kept with was committed
//! with exactly those messages. A version an open transaction bumped and then rolled back is
//! never seen here, and conversation ids are never given again.

use meai_core::TreeNode;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use std::sync::Arc;

/// Bytes of trees kept (about 170,000 messages' places).
const BUDGET_BYTES: u64 = 4 << 20;

/// What an entry costs beside its nodes: the shape, its key and the cache's slot.
const ENTRY_OVERHEAD: u64 = 96;

/// A tree as read at `version`: its nodes in id order (as [`meai_core::MessageTree`] keeps them).
pub(crate) struct Shape {
    pub(crate) version: i64,
    pub(crate) nodes: Vec<TreeNode>,
}

#[derive(Clone)]
struct Size;

impl Weighter<i64, Arc<Shape>> for Size {
    fn weight(&self, _: &i64, shape: &Arc<Shape>) -> u64 {
        ENTRY_OVERHEAD + (shape.nodes.len() * std::mem::size_of::<TreeNode>()) as u64
    }
}

pub(crate) struct TreeCache(Cache<i64, Arc<Shape>, Size>);

impl Default for TreeCache {
    fn default() -> Self {
        Self(Cache::with_weighter(4096, BUDGET_BYTES, Size))
    }
}

impl TreeCache {
    pub(crate) fn get(&self, conversation: i64) -> Option<Arc<Shape>> {
        self.0.get(&conversation)
    }

    /// Keeps a tree read outside any transaction at `version` (see the module).
    pub(crate) fn put(&self, conversation: i64, shape: Shape) {
        self.0.insert(conversation, Arc::new(shape));
    }
}

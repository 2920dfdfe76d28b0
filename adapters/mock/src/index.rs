//! [`MemoryIndex`]: the VectorIndex port in memory, exact cosine, the same rules every adapter
//! keeps (one space at a time, every search filtered by user and kind).

use meai_core::memory::{
    VectorError, VectorHit, VectorIndex, VectorItem, VectorKey, VectorPoint, VectorQuery, VectorScope,
};
use meai_core::{ConversationId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

type Spaces = HashMap<String, HashMap<VectorKey, VectorPoint>>;

/// Vectors per space, keyed by what they stand for. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct MemoryIndex {
    spaces: Arc<Mutex<Spaces>>,
}

impl MemoryIndex {
    fn spaces(&self) -> MutexGuard<'_, Spaces> {
        self.spaces.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many points the user has, of every kind and space (for tests that check deletion).
    pub fn count_for(&self, user: UserId) -> usize {
        self.spaces()
            .values()
            .flat_map(HashMap::values)
            .filter(|p| p.user_id == user)
            .count()
    }

    fn retain(&self, keep: impl Fn(&VectorPoint) -> bool) {
        for points in self.spaces().values_mut() {
            points.retain(|_, p| keep(p));
        }
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let n = norm(a) * norm(b);
    if n == 0.0 { 0.0 } else { dot / n }
}

fn in_scope(item: &VectorItem, scope: VectorScope) -> bool {
    match (item, scope) {
        (VectorItem::Message { .. }, VectorScope::Messages) => true,
        (VectorItem::Message { conversation, .. }, VectorScope::Conversation(c)) => *conversation == c,
        (VectorItem::Memory { .. }, VectorScope::Memories) => true,
        _ => false,
    }
}

#[async_trait::async_trait]
impl VectorIndex for MemoryIndex {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn upsert(&self, space: &str, points: &[VectorPoint]) -> Result<(), VectorError> {
        if points.iter().any(|p| p.vector.is_empty()) {
            return Err(VectorError::Invalid("empty vector".into()));
        }
        let mut spaces = self.spaces();
        // A point lives in one space: writing it in another moves it.
        for (name, stored) in spaces.iter_mut() {
            if name != space {
                for p in points {
                    stored.remove(&p.item.key());
                }
            }
        }
        let stored = spaces.entry(space.to_owned()).or_default();
        for p in points {
            stored.insert(p.item.key(), p.clone());
        }
        Ok(())
    }

    async fn search(&self, space: &str, query: &VectorQuery<'_>) -> Result<Vec<VectorHit>, VectorError> {
        let spaces = self.spaces();
        let Some(points) = spaces.get(space) else {
            return Ok(Vec::new());
        };
        let mut hits: Vec<VectorHit> = points
            .values()
            .filter(|p| p.user_id == query.user && in_scope(&p.item, query.scope))
            .map(|p| VectorHit {
                item: p.item,
                score: cosine(&p.vector, query.vector),
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.key().cmp(&b.item.key())));
        hits.truncate(query.k);
        Ok(hits)
    }

    async fn delete(&self, user: UserId, keys: &[VectorKey]) -> Result<(), VectorError> {
        self.retain(|p| p.user_id != user || !keys.contains(&p.item.key()));
        Ok(())
    }

    async fn delete_conversation(&self, user: UserId, conversation: ConversationId) -> Result<(), VectorError> {
        self.retain(|p| {
            p.user_id != user || !matches!(p.item, VectorItem::Message { conversation: c, .. } if c == conversation)
        });
        Ok(())
    }

    async fn delete_user(&self, user: UserId) -> Result<(), VectorError> {
        self.retain(|p| p.user_id != user);
        Ok(())
    }

    async fn clear(&self) -> Result<(), VectorError> {
        self.spaces().clear();
        Ok(())
    }
}

//! [`MemoryIndex`]: the VectorIndex port in memory, exact cosine, the same rules every adapter
//! keeps (one space at a time, every search filtered by user).

use meai_core::memory::{VectorError, VectorHit, VectorIndex, VectorPoint, VectorQuery};
use meai_core::{ConversationId, MessageId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Vectors per space, keyed by message id. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct MemoryIndex {
    spaces: Arc<Mutex<HashMap<String, HashMap<MessageId, VectorPoint>>>>,
}

impl MemoryIndex {
    fn spaces(&self) -> MutexGuard<'_, HashMap<String, HashMap<MessageId, VectorPoint>>> {
        self.spaces.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many points the user has, in every space (for tests that check deletion).
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

#[async_trait::async_trait]
impl VectorIndex for MemoryIndex {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn upsert(&self, space: &str, points: &[VectorPoint]) -> Result<(), VectorError> {
        let mut spaces = self.spaces();
        let stored = spaces.entry(space.to_owned()).or_default();
        for p in points {
            if p.vector.is_empty() {
                return Err(VectorError::Invalid("empty vector".into()));
            }
            stored.insert(p.message_id, p.clone());
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
            .filter(|p| p.user_id == query.user && query.conversation.is_none_or(|c| c == p.conversation_id))
            .map(|p| VectorHit {
                message_id: p.message_id,
                conversation_id: p.conversation_id,
                score: cosine(&p.vector, query.vector),
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.message_id.cmp(&b.message_id)));
        hits.truncate(query.k);
        Ok(hits)
    }

    async fn delete_messages(&self, user: UserId, ids: &[MessageId]) -> Result<(), VectorError> {
        self.retain(|p| p.user_id != user || !ids.contains(&p.message_id));
        Ok(())
    }

    async fn delete_conversation(&self, user: UserId, conversation: ConversationId) -> Result<(), VectorError> {
        self.retain(|p| p.user_id != user || p.conversation_id != conversation);
        Ok(())
    }

    async fn clear(&self) -> Result<(), VectorError> {
        self.spaces().clear();
        Ok(())
    }
}

//! [`MemoryFactStore`] in memory.

use super::{MemoryStore, State, next, to_usize};
use meai_core::store::{MemoryFactStore, Remembered};
use meai_core::*;

impl State {
    fn memory_mut(&mut self, user: UserId, id: MemoryId) -> Result<&mut MemoryFact, StoreError> {
        self.memories
            .get_mut(&id)
            .filter(|m| m.user_id == user)
            .ok_or(StoreError::NotFound)
    }

    fn same_text(&self, user: UserId, text: &MemoryText) -> Option<&MemoryFact> {
        let print = text.fingerprint();
        self.memories
            .values()
            .find(|m| m.user_id == user && m.content.fingerprint() == print)
    }

    fn count_of(&self, user: UserId) -> u64 {
        self.memories.values().filter(|m| m.user_id == user).count() as u64
    }

    fn insert_memory(&mut self, user: UserId, memory: &NewMemory) -> MemoryFact {
        let now = self.clock.now();
        let fact = MemoryFact {
            id: MemoryId(next(&mut self.next_id.memory)),
            user_id: user,
            content: memory.content.clone(),
            origin: memory.origin,
            source: memory.source,
            created_at: now,
            updated_at: now,
        };
        self.memories.insert(fact.id, fact.clone());
        fact
    }
}

#[async_trait::async_trait]
impl MemoryFactStore for MemoryStore {
    async fn list_memories(&self, user: UserId, page: Page<MemoryId>) -> Result<Vec<MemoryFact>, StoreError> {
        let s = self.state();
        if let Some(before) = page.before {
            s.memories
                .get(&before)
                .filter(|m| m.user_id == user)
                .ok_or(StoreError::NotFound)?;
        }
        Ok(s.memories
            .values()
            .rev()
            .filter(|m| m.user_id == user && page.before.is_none_or(|b| m.id < b))
            .take(page.limit.map_or(usize::MAX, to_usize))
            .cloned()
            .collect())
    }

    async fn count_memories(&self, user: UserId) -> Result<u64, StoreError> {
        Ok(self.state().count_of(user))
    }

    async fn memories_by_ids(&self, user: UserId, ids: &[MemoryId]) -> Result<Vec<MemoryFact>, StoreError> {
        let s = self.state();
        Ok(ids
            .iter()
            .filter_map(|id| s.memories.get(id).filter(|m| m.user_id == user).cloned())
            .collect())
    }

    async fn add_memory(&self, user: UserId, memory: &NewMemory, max: u64) -> Result<Remembered, StoreError> {
        let mut s = self.state();
        if !s.users.contains_key(&user) {
            return Err(StoreError::NotFound);
        }
        if let Some(existing) = s.same_text(user, &memory.content) {
            return Ok(Remembered::Duplicate(existing.clone()));
        }
        if s.count_of(user) >= max {
            return Err(StoreError::Conflict(format!("memory is full ({max} memories)")));
        }
        Ok(Remembered::New(s.insert_memory(user, memory)))
    }

    async fn edit_memory(&self, user: UserId, id: MemoryId, text: &MemoryText) -> Result<MemoryFact, StoreError> {
        let mut s = self.state();
        s.memory_mut(user, id)?;
        if s.same_text(user, text).is_some_and(|m| m.id != id) {
            return Err(StoreError::Conflict("another memory already says this".into()));
        }
        let now = s.clock.now();
        let fact = s.memory_mut(user, id)?;
        fact.content = text.clone();
        fact.updated_at = now;
        Ok(fact.clone())
    }

    async fn delete_memory(&self, user: UserId, id: MemoryId) -> Result<(), StoreError> {
        let mut s = self.state();
        s.memory_mut(user, id)?;
        s.memories.remove(&id);
        Ok(())
    }

    async fn unextracted(&self, user: UserId, messages: &[MessageId]) -> Result<Vec<MessageId>, StoreError> {
        let s = self.state();
        Ok(messages
            .iter()
            .filter(|id| s.extracted.get(id) != Some(&user))
            .copied()
            .collect())
    }

    async fn record_extraction(
        &self,
        user: UserId,
        messages: &[MessageId],
        memories: &[NewMemory],
        max: u64,
    ) -> Result<Vec<MemoryFact>, StoreError> {
        let mut s = self.state();
        if !s.users.contains_key(&user) {
            return Err(StoreError::NotFound);
        }
        let fresh: Vec<MessageId> = messages
            .iter()
            .filter(|id| !s.extracted.contains_key(id))
            .copied()
            .collect();
        for id in &fresh {
            s.extracted.insert(*id, user);
        }
        let mut added = Vec::new();
        for memory in memories {
            let from_fresh = memory.source.is_some_and(|src| fresh.contains(&src.message_id));
            if !from_fresh || s.same_text(user, &memory.content).is_some() || s.count_of(user) >= max {
                continue;
            }
            added.push(s.insert_memory(user, memory));
        }
        Ok(added)
    }

    async fn memory_switch(&self, user: UserId) -> Result<MemorySwitch, StoreError> {
        Ok(self.state().switches.get(&user).copied().unwrap_or_default())
    }

    async fn set_memory_switch(&self, user: UserId, enabled: bool) -> Result<MemorySwitch, StoreError> {
        let mut s = self.state();
        if !s.users.contains_key(&user) {
            return Err(StoreError::NotFound);
        }
        let switch = MemorySwitch {
            enabled,
            changed_at: Some(s.clock.now()),
        };
        s.switches.insert(user, switch);
        Ok(switch)
    }

    async fn memories_after(&self, after: Option<MemoryId>, limit: u64) -> Result<Vec<MemoryFact>, StoreError> {
        let s = self.state();
        Ok(s.memories
            .values()
            .filter(|m| after.is_none_or(|a| m.id > a))
            .take(to_usize(limit))
            .cloned()
            .collect())
    }
}

//! The per-user in-memory copy of the vectors table, so a search is a scan of RAM, not a query.
//!
//! Entries are kept coherent with this process's writes (the index's upserts and deletes, and
//! the store's message and conversation deletes, applied after their commit). Writes by other
//! instances sharing the database are seen once an entry is older than the TTL. A load that
//! raced with a write of the same user is used once but not kept (generation check).

use super::scan::{normalize, top_k};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long an entry is trusted without reloading (bounds staleness across instances).
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// Users kept in memory at most; the least recently searched is evicted first.
pub const DEFAULT_MAX_USERS: usize = 1_024;

/// One cached point: its owner, its id (message or memory, one kind per cache), its
/// conversation (0 for memories) and its vector.
pub(crate) struct Cached<'a> {
    pub user: i64,
    pub id: i64,
    pub conversation: i64,
    pub vector: &'a [f32],
}

/// One user's vectors of one space (of one kind), normalized, in one flat array.
pub(crate) struct UserVectors {
    space: String,
    dims: usize,
    loaded: Instant,
    ids: Vec<i64>,
    convs: Vec<i64>,
    data: Vec<f32>,
    rows: HashMap<i64, usize>,
}

impl UserVectors {
    pub(crate) fn new(space: &str, dims: usize) -> Self {
        Self {
            space: space.to_owned(),
            dims,
            loaded: Instant::now(),
            ids: Vec::new(),
            convs: Vec::new(),
            data: Vec::new(),
            rows: HashMap::new(),
        }
    }

    /// Adds or replaces a message's vector; a vector of the wrong size is left out.
    pub(crate) fn put(&mut self, message: i64, conversation: i64, vector: &[f32]) {
        let mut vector = vector.to_vec();
        if vector.len() != self.dims {
            self.remove(message);
            return;
        }
        normalize(&mut vector);
        match self.rows.get(&message) {
            Some(&row) => {
                self.convs[row] = conversation;
                self.data[row * self.dims..(row + 1) * self.dims].copy_from_slice(&vector);
            }
            None => {
                self.rows.insert(message, self.ids.len());
                self.ids.push(message);
                self.convs.push(conversation);
                self.data.extend_from_slice(&vector);
            }
        }
    }

    fn remove(&mut self, message: i64) {
        let Some(row) = self.rows.remove(&message) else { return };
        let last = self.ids.len() - 1;
        if row != last {
            // Move the last row into the hole.
            let moved = self.ids[last];
            self.ids[row] = moved;
            self.convs[row] = self.convs[last];
            self.data
                .copy_within(last * self.dims..(last + 1) * self.dims, row * self.dims);
            self.rows.insert(moved, row);
        }
        self.ids.pop();
        self.convs.pop();
        self.data.truncate(last * self.dims);
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The `k` best `(id, conversation, score)`, of one conversation with `conversation`.
    pub(crate) fn search(&self, query: &[f32], conversation: Option<i64>, k: usize) -> Vec<(i64, i64, f32)> {
        let mut q = query.to_vec();
        normalize(&mut q);
        let keep = |row: usize| conversation.is_none_or(|c| self.convs[row] == c);
        top_k(&self.data, self.dims, &q, k, keep)
            .into_iter()
            .map(|(row, score)| (self.ids[row], self.convs[row], score))
            .collect()
    }
}

type Entry = Arc<RwLock<UserVectors>>;

struct Slot {
    vectors: Entry,
    last_used: Instant,
}

#[derive(Default)]
struct State {
    users: HashMap<i64, Slot>,
    /// Bumped by every write of a user (and `epoch` by every clear).
    generations: HashMap<i64, u64>,
    epoch: u64,
}

/// The cache shared by the index and the store of one database (one per kind of point).
pub(crate) struct VectorCache {
    state: Mutex<State>,
    ttl: Duration,
    max_users: usize,
}

impl Default for VectorCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL, DEFAULT_MAX_USERS)
    }
}

/// Whose write a load must not have missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation(u64, u64);

impl VectorCache {
    pub(crate) fn new(ttl: Duration, max_users: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            ttl,
            max_users: max_users.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The user's fresh entry for `space`, if cached.
    pub(crate) fn get(&self, user: i64, space: &str) -> Option<Entry> {
        let mut state = self.lock();
        let slot = state.users.get_mut(&user)?;
        let fresh = {
            let v = slot.vectors.read().unwrap_or_else(|p| p.into_inner());
            v.space == space && v.loaded.elapsed() < self.ttl
        };
        if !fresh {
            state.users.remove(&user);
            return None;
        }
        slot.last_used = Instant::now();
        Some(slot.vectors.clone())
    }

    /// Taken before loading: [`VectorCache::install`] keeps the load only if no write came between.
    pub(crate) fn generation(&self, user: i64) -> Generation {
        let state = self.lock();
        Generation(state.epoch, state.generations.get(&user).copied().unwrap_or(0))
    }

    pub(crate) fn install(&self, user: i64, seen: Generation, vectors: UserVectors) -> Entry {
        let entry = Arc::new(RwLock::new(vectors));
        let mut state = self.lock();
        let now = Generation(state.epoch, state.generations.get(&user).copied().unwrap_or(0));
        if now == seen {
            if state.users.len() >= self.max_users
                && !state.users.contains_key(&user)
                && let Some(oldest) = state.users.iter().min_by_key(|(_, s)| s.last_used).map(|(u, _)| *u)
            {
                state.users.remove(&oldest);
            }
            state.users.insert(
                user,
                Slot {
                    vectors: entry.clone(),
                    last_used: Instant::now(),
                },
            );
        }
        entry
    }

    /// Applies a committed write to the user's entry, if cached.
    fn change(&self, user: i64, apply: impl FnOnce(&mut UserVectors)) {
        let mut state = self.lock();
        *state.generations.entry(user).or_insert(0) += 1;
        if let Some(slot) = state.users.get(&user) {
            apply(&mut slot.vectors.write().unwrap_or_else(|p| p.into_inner()));
        }
    }

    pub(crate) fn upserted(&self, space: &str, points: &[Cached<'_>]) {
        let mut by_user: HashMap<i64, Vec<&Cached<'_>>> = HashMap::new();
        for p in points {
            by_user.entry(p.user).or_default().push(p);
        }
        for (user, points) in by_user {
            self.change(user, |v| {
                for p in points {
                    if v.space == space {
                        v.put(p.id, p.conversation, p.vector);
                    } else {
                        // The row now holds a vector of another space.
                        v.remove(p.id);
                    }
                }
            });
        }
    }

    /// Forgets the user (their account was deleted).
    pub(crate) fn user_removed(&self, user: i64) {
        let mut state = self.lock();
        *state.generations.entry(user).or_insert(0) += 1;
        state.users.remove(&user);
    }

    pub(crate) fn removed(&self, user: i64, ids: &[i64]) {
        self.change(user, |v| ids.iter().for_each(|id| v.remove(*id)));
    }

    pub(crate) fn conversation_removed(&self, user: i64, conversation: i64) {
        self.change(user, |v| {
            let gone: Vec<i64> = v
                .ids
                .iter()
                .zip(&v.convs)
                .filter(|(_, c)| **c == conversation)
                .map(|(id, _)| *id)
                .collect();
            gone.into_iter().for_each(|id| v.remove(id));
        });
    }

    pub(crate) fn clear(&self) {
        let mut state = self.lock();
        state.epoch += 1;
        state.users.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_update_a_cached_entry_in_place() {
        let cache = VectorCache::default();
        let seen = cache.generation(1);
        let mut v = UserVectors::new("s#2", 2);
        v.put(10, 1, &[1.0, 0.0]);
        v.put(11, 2, &[0.0, 1.0]);
        cache.install(1, seen, v);
        let point = Cached {
            user: 1,
            id: 12,
            conversation: 2,
            vector: &[1.0, 1.0],
        };
        cache.upserted("s#2", &[point]);
        cache.removed(1, &[10]);
        let entry = cache.get(1, "s#2").expect("cached");
        let hits = entry.read().unwrap().search(&[1.0, 0.0], None, 10);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![12, 11]);
        cache.conversation_removed(1, 2);
        assert_eq!(entry.read().unwrap().len(), 0);
        assert!(
            cache.get(1, "other#2").is_none(),
            "another space is not served from this entry"
        );
    }

    #[test]
    fn a_load_that_raced_a_write_is_not_kept() {
        let cache = VectorCache::default();
        let seen = cache.generation(1);
        cache.removed(1, &[5]);
        cache.install(1, seen, UserVectors::new("s#2", 2));
        assert!(cache.get(1, "s#2").is_none());
    }
}

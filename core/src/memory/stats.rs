//! Counters of what memory did and what it had to give up, for logs and probes.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct MemoryStats {
    recalls: AtomicU64,
    recall_failures: AtomicU64,
    indexed: AtomicU64,
    index_failures: AtomicU64,
    dropped: AtomicU64,
}

/// A snapshot of [`MemoryStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryCounts {
    /// Recalls that answered (possibly with nothing).
    pub recalls: u64,
    /// Recalls that failed (embedder or index down); the turn went on without them.
    pub recall_failures: u64,
    /// Messages written to the index.
    pub indexed: u64,
    /// Messages whose indexing failed (they are found again by `meai reindex`).
    pub index_failures: u64,
    /// Messages not queued for indexing because the queue was full.
    pub dropped: u64,
}

impl MemoryStats {
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn recall(&self, ok: bool) {
        Self::add(if ok { &self.recalls } else { &self.recall_failures }, 1);
    }

    pub(super) fn indexed(&self, n: usize) {
        Self::add(&self.indexed, n as u64);
    }

    pub(super) fn index_failed(&self, n: usize) {
        Self::add(&self.index_failures, n as u64);
    }

    pub(super) fn dropped(&self, n: usize) {
        Self::add(&self.dropped, n as u64);
    }

    pub fn snapshot(&self) -> MemoryCounts {
        MemoryCounts {
            recalls: self.recalls.load(Ordering::Relaxed),
            recall_failures: self.recall_failures.load(Ordering::Relaxed),
            indexed: self.indexed.load(Ordering::Relaxed),
            index_failures: self.index_failures.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

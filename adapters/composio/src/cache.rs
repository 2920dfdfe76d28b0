//! Tool specs per toolkit, reused for a while: every turn needs them, and they change only
//! when Composio publishes a new toolkit version.

use meai_core::ToolkitSlug;
use meai_core::model::ToolSpec;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When a toolkit's tools were fetched, and the tools.
type Entry = (Instant, Arc<Vec<ToolSpec>>);

pub struct ToolCache {
    ttl: Duration,
    entries: Mutex<HashMap<ToolkitSlug, Entry>>,
}

/// What the cache holds for a toolkit.
pub enum Cached {
    Fresh(Arc<Vec<ToolSpec>>),
    /// Expired: refetch, but it can still serve if Composio fails.
    Stale(Arc<Vec<ToolSpec>>),
    Missing,
}

impl ToolCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, toolkit: &ToolkitSlug) -> Cached {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(toolkit) {
            Some((at, tools)) if at.elapsed() < self.ttl => Cached::Fresh(tools.clone()),
            Some((_, tools)) => Cached::Stale(tools.clone()),
            None => Cached::Missing,
        }
    }

    pub fn put(&self, toolkit: ToolkitSlug, tools: Vec<ToolSpec>) -> Arc<Vec<ToolSpec>> {
        let tools = Arc::new(tools);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(toolkit, (Instant::now(), tools.clone()));
        tools
    }
}

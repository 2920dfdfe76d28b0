//! The models a provider lists (`GET {base_url}models`), fetched on demand and cached: a
//! failure is logged and leaves the last good list (or none) in place.

use crate::target::Target;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a fetched list is used before it is fetched again.
const FRESH_FOR: Duration = Duration::from_secs(600);
/// After a failed fetch, how long before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(60);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The most names kept from one list, and the longest name kept.
const MAX_LISTED: usize = 500;
const MAX_NAME_CHARS: usize = 200;

pub(crate) struct Listing {
    target: Target,
    /// One fetch at a time; holds when the last one happened and whether it worked.
    fetch: tokio::sync::Mutex<Option<(Instant, bool)>>,
    names: Mutex<Vec<String>>,
}

impl Listing {
    pub(crate) fn new(target: Target) -> Self {
        Self {
            target,
            fetch: tokio::sync::Mutex::new(None),
            names: Mutex::new(Vec::new()),
        }
    }

    /// The listed names, fetched again when the cached list is stale.
    pub(crate) async fn names(&self) -> Vec<String> {
        let mut last = self.fetch.lock().await;
        let stale = match *last {
            None => true,
            Some((at, true)) => at.elapsed() >= FRESH_FOR,
            Some((at, false)) => at.elapsed() >= RETRY_AFTER,
        };
        if stale {
            let fetched = tokio::time::timeout(FETCH_TIMEOUT, self.target.list_models()).await;
            let ok = match fetched {
                Ok(Ok(names)) => {
                    let names: Vec<String> = names
                        .into_iter()
                        .filter(|n| !n.is_empty() && n.chars().count() <= MAX_NAME_CHARS)
                        .take(MAX_LISTED)
                        .collect();
                    tracing::debug!(provider = %self.target.provider, count = names.len(), "provider models listed");
                    *self.lock() = names;
                    true
                }
                Ok(Err(error)) => {
                    tracing::warn!(provider = %self.target.provider, %error, "could not list the provider's models");
                    false
                }
                Err(_) => {
                    tracing::warn!(provider = %self.target.provider, "listing the provider's models timed out");
                    false
                }
            };
            *last = Some((Instant::now(), ok));
        }
        drop(last);
        self.cached()
    }

    /// The names of the last good list, without fetching.
    pub(crate) fn cached(&self) -> Vec<String> {
        self.lock().clone()
    }

    pub(crate) fn contains(&self, model: &str) -> bool {
        self.lock().iter().any(|n| n == model)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.names.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

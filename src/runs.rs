//! The run registry as this instance sees it: the configured registry (in-process, or Redis
//! when `REDIS_URL` is set) wrapped so the edge knows which runs execute *here*. That is what
//! the `meai_active_runs` gauge and time-to-first-token measure, and what a graceful shutdown
//! waits for and then stops ([`TrackedRuns::drain`]).

use crate::metrics::metrics;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use meai_core::turn::{Attachment, RunError, RunId, RunRegistry, RunStarted, RunWriter, TurnEvent};
use meai_core::{ConversationId, UserId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A registry decorator that tracks the runs begun on this instance. Cheap to clone.
#[derive(Clone)]
pub struct TrackedRuns {
    inner: Arc<dyn RunRegistry>,
    local: Arc<Local>,
}

#[derive(Default)]
struct Local {
    runs: Mutex<HashMap<ConversationId, RunId>>,
    changed: Notify,
}

impl Local {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ConversationId, RunId>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    /// Runs that finished on their own within the grace period.
    pub finished: usize,
    /// Runs that had to be stopped.
    pub stopped: usize,
}

impl TrackedRuns {
    pub fn new(inner: Arc<dyn RunRegistry>) -> Self {
        Self {
            inner,
            local: Arc::default(),
        }
    }

    /// Conversations with a run executing on this instance.
    pub fn local_runs(&self) -> Vec<ConversationId> {
        self.local.lock().keys().copied().collect()
    }

    /// Waits until no run executes here, at most `timeout`; true when none is left.
    async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.local.changed.notified();
            if self.local.lock().is_empty() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.local.lock().is_empty();
            }
        }
    }

    /// For a graceful shutdown: lets this instance's runs finish for up to `grace`, then asks
    /// the rest to stop (each persists its partial answer and sends `last_chunk`) and waits up
    /// to `stop_wait` for them to wind down.
    pub async fn drain(&self, grace: Duration, stop_wait: Duration) -> Drained {
        let before = self.local.lock().len();
        if before == 0 {
            return Drained::default();
        }
        tracing::info!(
            runs = before,
            grace_s = grace.as_secs_f64(),
            "waiting for active runs to finish"
        );
        self.wait_idle(grace).await;
        let remaining = self.local_runs();
        for conversation in &remaining {
            match self.inner.request_stop(*conversation).await {
                Ok(_) => tracing::info!(conversation_id = %conversation, "stopping a run for shutdown"),
                Err(e) => tracing::warn!(conversation_id = %conversation, error = %e, "could not stop a run"),
            }
        }
        if !remaining.is_empty() && !self.wait_idle(stop_wait).await {
            tracing::warn!(runs = self.local.lock().len(), "runs still active after being stopped");
        }
        Drained {
            finished: before - remaining.len(),
            stopped: remaining.len(),
        }
    }
}

#[async_trait::async_trait]
impl RunRegistry for TrackedRuns {
    async fn begin(&self, conversation: ConversationId, owner: UserId) -> Result<Box<dyn RunWriter>, RunError> {
        let writer = self
            .inner
            .begin(conversation, owner)
            .await
            .inspect_err(registry_error)?;
        let run = writer.run();
        self.local.lock().insert(conversation, run);
        metrics().active_runs.inc();
        Ok(Box::new(TrackedWriter {
            inner: Some(writer),
            local: self.local.clone(),
            conversation,
            run,
            started: Instant::now(),
            first_chunk: AtomicBool::new(true),
        }))
    }

    async fn attach(&self, conversation: ConversationId, after_seq: u64) -> Result<Option<Attachment>, RunError> {
        self.inner
            .attach(conversation, after_seq)
            .await
            .inspect_err(registry_error)
    }

    async fn request_stop(&self, conversation: ConversationId) -> Result<bool, RunError> {
        self.inner.request_stop(conversation).await.inspect_err(registry_error)
    }

    async fn active(&self, conversation: ConversationId) -> Result<Option<RunId>, RunError> {
        self.inner.active(conversation).await.inspect_err(registry_error)
    }

    async fn started(&self) -> Result<Option<BoxStream<'static, RunStarted>>, RunError> {
        self.inner.started().await.inspect_err(registry_error)
    }

    async fn is_alive(&self, conversation: ConversationId, run: RunId) -> Result<bool, RunError> {
        self.inner.is_alive(conversation, run).await.inspect_err(registry_error)
    }

    async fn streamed_text(&self, conversation: ConversationId, run: RunId) -> Result<Option<String>, RunError> {
        self.inner
            .streamed_text(conversation, run)
            .await
            .inspect_err(registry_error)
    }

    async fn close_dead(&self, conversation: ConversationId, run: RunId) -> Result<(), RunError> {
        self.inner
            .close_dead(conversation, run)
            .await
            .inspect_err(registry_error)
    }
}

fn registry_error(e: &RunError) {
    if matches!(e, RunError::Backend(_)) {
        metrics().error("run_registry");
    }
}

struct TrackedWriter {
    /// Taken by `finish`.
    inner: Option<Box<dyn RunWriter>>,
    local: Arc<Local>,
    conversation: ConversationId,
    run: RunId,
    started: Instant,
    first_chunk: AtomicBool,
}

impl TrackedWriter {
    fn inner(&self) -> &dyn RunWriter {
        self.inner.as_deref().expect("the writer is only taken by finish")
    }
}

#[async_trait::async_trait]
impl RunWriter for TrackedWriter {
    fn run(&self) -> RunId {
        self.run
    }

    async fn publish(&self, event: TurnEvent) -> Result<u64, RunError> {
        match &event {
            TurnEvent::Assistant { .. } if self.first_chunk.swap(false, Ordering::Relaxed) => {
                metrics()
                    .time_to_first_token
                    .observe(self.started.elapsed().as_secs_f64());
            }
            TurnEvent::Error { .. } => metrics().error("turn"),
            _ => {}
        }
        self.inner().publish(event).await.inspect_err(registry_error)
    }

    fn stopped(&self) -> BoxFuture<'static, ()> {
        self.inner().stopped()
    }

    async fn finish(mut self: Box<Self>) {
        if let Some(inner) = self.inner.take() {
            inner.finish().await;
        }
        // The bookkeeping happens in Drop, once, whether finished or dropped.
    }
}

impl Drop for TrackedWriter {
    fn drop(&mut self) {
        // Dropping the inner writer first ends the run in the registry (its own Drop).
        drop(self.inner.take());
        let mut runs = self.local.lock();
        if runs.get(&self.conversation) == Some(&self.run) {
            runs.remove(&self.conversation);
        }
        drop(runs);
        metrics().active_runs.dec();
        self.local.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meai_runs::LocalRuns;

    #[tokio::test]
    async fn tracked_runs_keep_the_contract() {
        meai_core::turn::contract::run_registry_contract(|| TrackedRuns::new(Arc::new(LocalRuns::default()))).await;
    }

    #[tokio::test]
    async fn drain_waits_then_stops_what_is_left() {
        let runs = TrackedRuns::new(Arc::new(LocalRuns::default()));
        assert_eq!(runs.drain(Duration::ZERO, Duration::ZERO).await, Drained::default());
        // One run finishes within the grace period; the other only ends when stopped.
        let quick = runs.begin(ConversationId(1), UserId(1)).await.unwrap();
        let slow = runs.begin(ConversationId(2), UserId(1)).await.unwrap();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            quick.finish().await;
        });
        tokio::spawn(async move {
            slow.stopped().await;
            slow.finish().await;
        });
        let drained = runs.drain(Duration::from_millis(200), Duration::from_secs(5)).await;
        assert_eq!(
            drained,
            Drained {
                finished: 1,
                stopped: 1
            }
        );
        assert!(runs.local_runs().is_empty());
    }
}

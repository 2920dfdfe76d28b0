//! The in-process run registry.

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use meai_core::turn::{Attachment, INSTANCE_LOST, RunError, RunEvent, RunId, RunRegistry, RunWriter, TurnEvent};
use meai_core::{ConversationId, UserId};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

#[derive(Debug, Clone, Copy)]
pub struct LocalRunsConfig {
    /// How long a finished run's log stays attachable.
    pub retention: Duration,
    /// Most events kept per run; older ones are dropped (a listener that far behind misses them).
    pub log_capacity: usize,
    /// Live events buffered per listener before it must catch up from the log.
    pub channel_capacity: usize,
}

impl Default for LocalRunsConfig {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(120),
            log_capacity: 20_000,
            // The channel allocates all its slots up front, per run: 1024 cost ~100 KB for each
            // answer being written (100 MB at 1,000 at once). A listener that falls 64 events
            // behind refills from the log, which holds them all.
            channel_capacity: 64,
        }
    }
}

/// Runs of this process. Cheap to clone.
#[derive(Clone, Default)]
pub struct LocalRuns {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    config: LocalRunsConfig,
    next_run: AtomicU64,
    runs: Mutex<HashMap<ConversationId, Run>>,
}

struct Run {
    id: RunId,
    log: VecDeque<RunEvent>,
    next_seq: u64,
    /// `None` once finished: dropping the sender ends every live listener.
    live: Option<broadcast::Sender<RunEvent>>,
    stop: watch::Sender<bool>,
    finished_at: Option<Instant>,
}

impl Run {
    fn active(&self) -> bool {
        self.finished_at.is_none()
    }

    fn events_after(&self, seq: u64) -> Vec<RunEvent> {
        self.log.iter().filter(|e| e.seq > seq).cloned().collect()
    }

    /// Appends an event to the log and delivers it live; `last_chunk` also ends the run.
    fn push(&mut self, event: TurnEvent, log_capacity: usize) -> u64 {
        let e = RunEvent {
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        if self.log.len() == log_capacity {
            self.log.pop_front();
        }
        self.log.push_back(e.clone());
        if let Some(live) = &self.live {
            // No receivers is fine: nobody is listening right now, the log keeps the event.
            let _ = live.send(e.clone());
        }
        if e.event.is_last() {
            // Ended in the same critical section: a client reacting to `last_chunk` with its next
            // message must find the conversation free.
            self.end();
        }
        e.seq
    }

    fn end(&mut self) {
        self.finished_at = Some(Instant::now());
        self.live = None;
    }
}

impl LocalRuns {
    pub fn new(config: LocalRunsConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                next_run: AtomicU64::new(0),
                runs: Mutex::default(),
            }),
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<ConversationId, Run>> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets finished runs older than the retention; called on every begin.
    fn sweep(&self, runs: &mut HashMap<ConversationId, Run>) {
        let retention = self.config.retention;
        runs.retain(|_, r| r.finished_at.is_none_or(|t| t.elapsed() < retention));
    }

    fn finish(&self, conversation: ConversationId, run: RunId) {
        let mut runs = self.lock();
        if let Some(r) = runs.get_mut(&conversation).filter(|r| r.id == run && r.active()) {
            r.end();
        }
    }

    /// Ends a run whose writer is gone without its end: listeners get `error`, `last_chunk`.
    fn close(&self, conversation: ConversationId, run: RunId) {
        let capacity = self.config.log_capacity;
        let mut runs = self.lock();
        if let Some(r) = runs.get_mut(&conversation).filter(|r| r.id == run && r.active()) {
            r.push(
                TurnEvent::Error {
                    error: INSTANCE_LOST.into(),
                },
                capacity,
            );
            r.push(TurnEvent::LastChunk { stopped: false }, capacity);
        }
    }
}

#[async_trait::async_trait]
impl RunRegistry for LocalRuns {
    async fn begin(&self, conversation: ConversationId, _owner: UserId) -> Result<Box<dyn RunWriter>, RunError> {
        let mut runs = self.inner.lock();
        self.inner.sweep(&mut runs);
        if runs.get(&conversation).is_some_and(Run::active) {
            return Err(RunError::Active);
        }
        let id = RunId(self.inner.next_run.fetch_add(1, Ordering::Relaxed) + 1);
        let (live, _) = broadcast::channel(self.inner.config.channel_capacity);
        let (stop, stop_rx) = watch::channel(false);
        runs.insert(
            conversation,
            Run {
                id,
                log: VecDeque::new(),
                next_seq: 1,
                live: Some(live),
                stop,
                finished_at: None,
            },
        );
        Ok(Box::new(LocalWriter {
            inner: self.inner.clone(),
            conversation,
            run: id,
            stop: stop_rx,
            finished: false,
        }))
    }

    async fn attach(&self, conversation: ConversationId, after_seq: u64) -> Result<Option<Attachment>, RunError> {
        let runs = self.inner.lock();
        let Some(run) = runs.get(&conversation) else {
            return Ok(None);
        };
        // Snapshot and subscribe under the same lock: no event can fall between the two.
        let missed = run.events_after(after_seq);
        let live = run.live.as_ref().map(broadcast::Sender::subscribe);
        let (id, active) = (run.id, run.active());
        drop(runs);
        let last = missed.last().map_or(after_seq, |e| e.seq);
        let replay = stream::iter(missed);
        let events = match live {
            Some(rx) => replay
                .chain(live_events(self.inner.clone(), conversation, id, rx, last))
                .boxed(),
            None => replay.boxed(),
        };
        Ok(Some(Attachment {
            run: id,
            active,
            events,
        }))
    }

    async fn request_stop(&self, conversation: ConversationId) -> Result<bool, RunError> {
        let runs = self.inner.lock();
        match runs.get(&conversation).filter(|r| r.active()) {
            Some(run) => {
                run.stop.send_replace(true);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn active(&self, conversation: ConversationId) -> Result<Option<RunId>, RunError> {
        Ok(self
            .inner
            .lock()
            .get(&conversation)
            .filter(|r| r.active())
            .map(|r| r.id))
    }

    async fn is_alive(&self, conversation: ConversationId, run: RunId) -> Result<bool, RunError> {
        // A writer's runs live in its process: an active one here has its writer here.
        Ok(self
            .inner
            .lock()
            .get(&conversation)
            .is_some_and(|r| r.id == run && r.active()))
    }

    async fn streamed_text(&self, conversation: ConversationId, run: RunId) -> Result<Option<String>, RunError> {
        let runs = self.inner.lock();
        Ok(runs.get(&conversation).filter(|r| r.id == run).map(|r| {
            r.log
                .iter()
                .filter_map(|e| match &e.event {
                    TurnEvent::Assistant { content } => Some(content.as_str()),
                    _ => None,
                })
                .collect()
        }))
    }

    async fn close_dead(&self, conversation: ConversationId, run: RunId) -> Result<(), RunError> {
        self.inner.close(conversation, run);
        Ok(())
    }
}

/// Live events after `last`; a listener that lagged behind the channel refills from the log.
fn live_events(
    inner: Arc<Inner>,
    conversation: ConversationId,
    run: RunId,
    rx: broadcast::Receiver<RunEvent>,
    last: u64,
) -> impl futures::Stream<Item = RunEvent> + Send + 'static {
    struct S {
        inner: Arc<Inner>,
        rx: broadcast::Receiver<RunEvent>,
        last: u64,
        backlog: VecDeque<RunEvent>,
    }
    stream::unfold(
        S {
            inner,
            rx,
            last,
            backlog: VecDeque::new(),
        },
        move |mut s| async move {
            loop {
                if let Some(e) = s.backlog.pop_front() {
                    s.last = e.seq;
                    return Some((e, s));
                }
                match s.rx.recv().await {
                    Ok(e) if e.seq <= s.last => continue,
                    Ok(e) => {
                        s.last = e.seq;
                        return Some((e, s));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let runs = s.inner.lock();
                        if let Some(r) = runs.get(&conversation).filter(|r| r.id == run) {
                            s.backlog = r.events_after(s.last).into();
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    )
}

struct LocalWriter {
    inner: Arc<Inner>,
    conversation: ConversationId,
    run: RunId,
    stop: watch::Receiver<bool>,
    finished: bool,
}

#[async_trait::async_trait]
impl RunWriter for LocalWriter {
    fn run(&self) -> RunId {
        self.run
    }

    async fn publish(&self, event: TurnEvent) -> Result<u64, RunError> {
        let mut runs = self.inner.lock();
        let Some(run) = runs
            .get_mut(&self.conversation)
            .filter(|r| r.id == self.run && r.active())
        else {
            return Err(RunError::Backend("the run is over".into()));
        };
        Ok(run.push(event, self.inner.config.log_capacity))
    }

    fn stopped(&self) -> BoxFuture<'static, ()> {
        let mut rx = self.stop.clone();
        Box::pin(async move {
            if rx.wait_for(|stop| *stop).await.is_err() {
                // The run was forgotten: nobody can stop it any more.
                futures::future::pending::<()>().await;
            }
        })
    }

    async fn finish(mut self: Box<Self>) {
        self.finished = true;
        self.inner.finish(self.conversation, self.run);
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if !self.finished {
            tracing::warn!(conversation_id = %self.conversation, run = %self.run, "run dropped without finishing");
            // Its listeners still get an end (unless it published one: then it is over).
            self.inner.close(self.conversation, self.run);
        }
    }
}

#[cfg(test)]
mod tests;

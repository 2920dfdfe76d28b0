//! Starting a run and publishing its events.

use super::{Inner, backend};
use futures::future::BoxFuture;
use meai_core::turn::{RunError, RunEvent, RunId, RunWriter, TurnEvent};
use meai_core::{ConversationId, UserId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{broadcast, watch};

/// Logs live at most a day even if no run ever finishes them (a crashed cluster).
const LOG_TTL_SECS: u64 = 24 * 3600;

/// KEYS: the conversation's active key. ARGV: the run id. Frees the conversation if this run
/// still holds it.
const FREE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

pub(super) async fn begin(
    inner: Arc<Inner>,
    conversation: ConversationId,
    owner: UserId,
) -> Result<Box<dyn RunWriter>, RunError> {
    Ok(Box::new(begin_writer(inner, conversation, owner).await?))
}

pub(super) async fn begin_writer(
    inner: Arc<Inner>,
    conversation: ConversationId,
    owner: UserId,
) -> Result<RedisWriter, RunError> {
    let mut con = inner.con().await?;
    let id: u64 = redis::cmd("INCR")
        .arg(inner.key(format_args!("run_seq")))
        .query_async(&mut con)
        .await
        .map_err(backend)?;
    let run = RunId(id);
    let lease_ms = inner.config.lease.as_millis() as u64;
    let claimed: Option<String> = redis::cmd("SET")
        .arg(inner.active_key(conversation))
        .arg(id)
        .arg("NX")
        .arg("PX")
        .arg(lease_ms)
        .query_async(&mut con)
        .await
        .map_err(backend)?;
    if claimed.is_none() {
        return Err(RunError::Active);
    }
    // Listen for stop requests before anyone can learn the run exists.
    let mut messages = inner.hub().await?.subscribe(&inner.channel(run)).await?;
    // The owner first, so whoever learns of the run can also salvage it; the notice last, so an
    // instance that receives it finds the run when it attaches.
    redis::pipe()
        .cmd("SET")
        .arg(inner.run_key(run, "owner"))
        .arg(owner.0)
        .arg("EX")
        .arg(LOG_TTL_SECS)
        .ignore()
        .cmd("SET")
        .arg(inner.run_key(run, "instance"))
        .arg(&inner.instance)
        .arg("EX")
        .arg(LOG_TTL_SECS)
        .ignore()
        .cmd("SET")
        .arg(inner.last_key(conversation))
        .arg(id)
        .arg("EX")
        .arg(LOG_TTL_SECS)
        .ignore()
        .cmd("PUBLISH")
        .arg(inner.started_channel())
        .arg(super::started_notice(conversation, run))
        .ignore()
        .query_async::<()>(&mut con)
        .await
        .map_err(backend)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_flag = inner.run_key(run, "stop");
    let flags = inner.clone();
    let watcher = tokio::spawn(async move {
        loop {
            match messages.recv().await {
                Ok(m) if m == "stop" => {
                    stop_tx.send_replace(true);
                }
                // A stop request may have been published while pub/sub was down: its flag stays.
                Ok(m) if m == super::hub::RESYNC => {
                    if let Ok(mut con) = flags.con().await
                        && redis::cmd("EXISTS")
                            .arg(&stop_flag)
                            .query_async::<bool>(&mut con)
                            .await
                            .unwrap_or(false)
                    {
                        stop_tx.send_replace(true);
                    }
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let heartbeat = tokio::spawn(heartbeat(inner.clone(), conversation, run));
    Ok(RedisWriter {
        inner,
        conversation,
        run,
        next_seq: AtomicU64::new(1),
        stop: stop_rx,
        tasks: vec![watcher, heartbeat],
        finished: false,
    })
}

/// Extends the lease while the run lives (the task is aborted when it ends).
async fn heartbeat(inner: Arc<Inner>, conversation: ConversationId, run: RunId) {
    let script = redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
    );
    let every = inner.config.lease / 3;
    loop {
        tokio::time::sleep(every).await;
        let Ok(mut con) = inner.con().await else { continue };
        let renewed: redis::RedisResult<i64> = script
            .key(inner.active_key(conversation))
            .arg(run.0)
            .arg(inner.config.lease.as_millis() as u64)
            .invoke_async(&mut con)
            .await;
        if let Err(e) = renewed {
            tracing::warn!(error = %e, run = %run, "could not renew a run's lease");
        }
    }
}

pub(super) struct RedisWriter {
    inner: Arc<Inner>,
    conversation: ConversationId,
    run: RunId,
    next_seq: AtomicU64,
    stop: watch::Receiver<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    finished: bool,
}

#[async_trait::async_trait]
impl RunWriter for RedisWriter {
    fn run(&self) -> RunId {
        self.run
    }

    async fn publish(&self, event: TurnEvent) -> Result<u64, RunError> {
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        let is_last = event.is_last();
        let event_json = serde_json::to_string(&event).map_err(|e| RunError::Backend(e.to_string()))?;
        let live = serde_json::to_string(&RunEvent { seq, event }).map_err(|e| RunError::Backend(e.to_string()))?;
        let inner = &self.inner;
        let log = inner.run_key(self.run, "log");
        // The explicit entry id fences a writer whose run was closed as abandoned: its later
        // events are refused instead of landing after the end.
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(&log)
            .arg(format!("{seq}-1"))
            .arg("e")
            .arg(event_json)
            .ignore()
            .cmd("EXPIRE")
            .arg(&log)
            .arg(LOG_TTL_SECS)
            .ignore();
        if is_last {
            // Free the conversation before anyone hears the end: a client that sends its next
            // message on `last_chunk` must not be told the answer is still being written.
            pipe.cmd("EVAL")
                .arg(FREE)
                .arg(1)
                .arg(inner.active_key(self.conversation))
                .arg(self.run.0)
                .ignore();
        }
        pipe.cmd("PUBLISH")
            .arg(inner.channel(self.run))
            .arg(live)
            .ignore()
            .query_async::<()>(&mut inner.con().await?)
            .await
            .map_err(backend)?;
        Ok(seq)
    }

    fn stopped(&self) -> BoxFuture<'static, ()> {
        let mut rx = self.stop.clone();
        let inner = self.inner.clone();
        let key = inner.run_key(self.run, "stop");
        Box::pin(async move {
            // A request made before this writer subscribed left the flag.
            if let Ok(mut con) = inner.con().await
                && redis::cmd("EXISTS")
                    .arg(&key)
                    .query_async::<bool>(&mut con)
                    .await
                    .unwrap_or(false)
            {
                return;
            }
            if rx.wait_for(|stop| *stop).await.is_err() {
                futures::future::pending::<()>().await;
            }
        })
    }

    async fn finish(mut self: Box<Self>) {
        self.finished = true;
        finish(self.inner.clone(), self.conversation, self.run).await;
    }
}

/// Marks the run done, frees the conversation, keeps the log for the retention, then tells
/// listeners (`done` after the conversation is free, so a listener that saw the end can begin
/// at once).
async fn finish(inner: Arc<Inner>, conversation: ConversationId, run: RunId) {
    let retention = inner.config.retention.as_secs().max(1);
    let free = redis::Script::new(FREE);
    let result = async {
        let mut con = inner.con().await?;
        redis::pipe()
            .cmd("SET")
            .arg(inner.run_key(run, "done"))
            .arg(1)
            .arg("EX")
            .arg(retention)
            .ignore()
            .cmd("EXPIRE")
            .arg(inner.run_key(run, "log"))
            .arg(retention)
            .ignore()
            .cmd("EXPIRE")
            .arg(inner.last_key(conversation))
            .arg(retention)
            .ignore()
            .query_async::<()>(&mut con)
            .await
            .map_err(backend)?;
        free.key(inner.active_key(conversation))
            .arg(run.0)
            .invoke_async::<i64>(&mut con)
            .await
            .map_err(backend)?;
        redis::cmd("PUBLISH")
            .arg(inner.channel(run))
            .arg("done")
            .query_async::<()>(&mut con)
            .await
            .map_err(backend)
    }
    .await;
    if let Err(e) = result {
        // The lease lapses on its own; listeners then close the run.
        tracing::warn!(error = %e, run = %run, "could not finish a run in Redis");
    }
}

impl RedisWriter {
    /// What a killed instance leaves behind: no heartbeat, no end.
    #[cfg(test)]
    pub(super) fn crash(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.finished = true;
    }
}

impl Drop for RedisWriter {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if !self.finished {
            tracing::warn!(conversation_id = %self.conversation, run = %self.run, "run dropped without finishing");
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let (inner, conversation, run) = (self.inner.clone(), self.conversation, self.run);
                rt.spawn(async move {
                    // Its listeners still get an end (unless it published one).
                    if let Err(e) = inner.close_abandoned(conversation, run).await {
                        tracing::warn!(error = %e, run = %run, "could not close a dropped run");
                    }
                    finish(inner, conversation, run).await;
                });
            }
        }
    }
}

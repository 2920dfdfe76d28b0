//! The Redis run registry, for several instances behind a load balancer.
//!
//! Layout (every key under a prefix, `meai` by default):
//! - `{p}:conv:{c}:active` = the id of the conversation's running run, with a *lease*: the
//!   writer's instance refreshes it every few seconds, so a run whose instance died frees its
//!   conversation once the lease lapses;
//! - `{p}:conv:{c}:last` = the conversation's latest run (to attach after it finished);
//! - `{p}:run:{r}:log` = a Stream with one entry per event, entry id `{seq}-1`, so the missed
//!   events after `seq` are an `XRANGE` away; it expires a while after the run ends;
//! - `{p}:run:{r}:done` / `:stop` = flags; `{p}:run:{r}:owner` = the user the run answers;
//!   `{p}:run:{r}:instance` = the instance writing it;
//! - channel `{p}:run:{r}` = live events (`{"seq":..,"event":..}`), `stop` and `done`;
//! - channel `{p}:runs` = `{"conversation":..,"run":..}` for every run begun, so each instance
//!   can forward it to its sockets already waiting in the conversation;
//! - channel `{p}:instance:{i}` = nothing is ever sent: each instance stays subscribed to its
//!   own for as long as it runs, so its subscriber count says whether it is alive.
//!
//! One pub/sub connection per registry fans channel messages out to local listeners (a
//! blocking `XREAD` per listener would need a connection each). A listener subscribes before
//! reading the log, then drops live events it already replayed, so it sees every event once
//! and in order. A run is *alive* while it holds its conversation (a lease its instance
//! renews) and its instance's presence channel has a subscriber: a killed instance's runs are
//! dead at once. Closing a dead run ([`RunRegistry::close_dead`], also done by a listener that
//! finds its run dead) appends `error` and `last_chunk` to the log, once (a script checks the
//! `done` flag), so every listener on every instance gets an end, and frees the conversation.
//! Storing the partial answer is the core's (`Turns::recover`): from this log, which has every
//! chunk ([`RunRegistry::streamed_text`]).

mod hub;
mod notices;
mod writer;

pub use notices::RedisNotices;

#[cfg(test)]
mod tests;

use futures::StreamExt;
use futures::stream::{self, BoxStream};
use hub::Hub;
pub use meai_core::turn::INSTANCE_LOST;
use meai_core::turn::{Attachment, RunError, RunEvent, RunId, RunRegistry, RunStarted, RunWriter, TurnEvent};
use meai_core::{ConversationId, UserId};
use redis::aio::MultiplexedConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OnceCell, broadcast};

#[derive(Debug, Clone)]
pub struct RedisRunsConfig {
    /// Key prefix; lets several deployments (or tests) share one Redis.
    pub prefix: String,
    /// How long a finished run's log stays attachable.
    pub retention: Duration,
    /// A run whose instance stopped refreshing its lease this long is considered dead.
    pub lease: Duration,
}

impl Default for RedisRunsConfig {
    fn default() -> Self {
        Self {
            prefix: "meai".into(),
            retention: Duration::from_secs(120),
            lease: Duration::from_secs(10),
        }
    }
}

/// Runs shared through Redis. Cheap to clone; connects lazily on first use.
#[derive(Clone)]
pub struct RedisRuns {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    client: redis::Client,
    con: OnceCell<MultiplexedConnection>,
    hub: OnceCell<Hub>,
    pub(crate) config: RedisRunsConfig,
    /// This instance, among those sharing the registry.
    pub(crate) instance: String,
}

pub(crate) fn backend(e: redis::RedisError) -> RunError {
    RunError::Backend(format!("redis: {e}"))
}

impl Inner {
    pub(crate) async fn con(&self) -> Result<MultiplexedConnection, RunError> {
        self.con
            .get_or_try_init(|| self.client.get_multiplexed_async_connection())
            .await
            .cloned()
            .map_err(backend)
    }

    pub(crate) async fn hub(&self) -> Result<&Hub, RunError> {
        self.hub
            .get_or_try_init(|| Hub::connect(&self.client, self.presence_channel(&self.instance)))
            .await
            .map_err(backend)
    }

    pub(crate) fn key(&self, parts: std::fmt::Arguments<'_>) -> String {
        format!("{}:{}", self.config.prefix, parts)
    }

    pub(crate) fn active_key(&self, c: ConversationId) -> String {
        self.key(format_args!("conv:{c}:active"))
    }

    pub(crate) fn last_key(&self, c: ConversationId) -> String {
        self.key(format_args!("conv:{c}:last"))
    }

    pub(crate) fn run_key(&self, r: RunId, what: &str) -> String {
        self.key(format_args!("run:{r}:{what}"))
    }

    pub(crate) fn channel(&self, r: RunId) -> String {
        self.key(format_args!("run:{r}"))
    }

    /// The channel an instance stays subscribed to while it lives.
    pub(crate) fn presence_channel(&self, instance: &str) -> String {
        self.key(format_args!("instance:{instance}"))
    }

    /// Where every run begun is announced.
    pub(crate) fn started_channel(&self) -> String {
        self.key(format_args!("runs"))
    }

    async fn get_run(&self, key: &str) -> Result<Option<RunId>, RunError> {
        let id: Option<u64> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.con().await?)
            .await
            .map_err(backend)?;
        Ok(id.map(RunId))
    }

    /// The log's events after `after`.
    async fn events_after(&self, run: RunId, after: u64) -> Result<Vec<RunEvent>, RunError> {
        let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg(self.run_key(run, "log"))
            .arg(format!("{}-0", after + 1))
            .arg("+")
            .query_async(&mut self.con().await?)
            .await
            .map_err(backend)?;
        Ok(entries
            .into_iter()
            .filter_map(|(id, fields)| {
                let seq = id.split('-').next()?.parse().ok()?;
                let event = serde_json::from_str(fields.get(1)?).ok()?;
                Some(RunEvent { seq, event })
            })
            .collect())
    }

    async fn is_done(&self, run: RunId) -> Result<bool, RunError> {
        let done: bool = redis::cmd("EXISTS")
            .arg(self.run_key(run, "done"))
            .query_async(&mut self.con().await?)
            .await
            .map_err(backend)?;
        Ok(done)
    }

    /// Whether the run holds its conversation and its instance is alive.
    async fn is_alive(&self, conversation: ConversationId, run: RunId) -> Result<bool, RunError> {
        if self.get_run(&self.active_key(conversation)).await? != Some(run) {
            return Ok(false);
        }
        let mut con = self.con().await?;
        let instance: Option<String> = redis::cmd("GET")
            .arg(self.run_key(run, "instance"))
            .query_async(&mut con)
            .await
            .map_err(backend)?;
        // A run begun by a version that did not record its instance: its lease decides.
        let Some(instance) = instance else { return Ok(true) };
        let (_, subscribers): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(self.presence_channel(&instance))
            .query_async(&mut con)
            .await
            .map_err(backend)?;
        Ok(subscribers > 0)
    }

    /// Ends a run whose writer vanished without finishing (see the module docs); a no-op when
    /// it did finish meanwhile.
    pub(crate) async fn close_abandoned(&self, conversation: ConversationId, run: RunId) -> Result<(), RunError> {
        let script = redis::Script::new(CLOSE_ABANDONED);
        let events = [
            TurnEvent::Error {
                error: INSTANCE_LOST.into(),
            },
            TurnEvent::LastChunk { stopped: false },
        ];
        let json: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string(e).expect("events serialize"))
            .collect();
        let closed: i64 = script
            .key(self.run_key(run, "log"))
            .key(self.run_key(run, "done"))
            .key(self.channel(run))
            .key(self.active_key(conversation))
            .arg(&json[0])
            .arg(&json[1])
            .arg(self.config.retention.as_secs().max(1))
            .arg(run.0)
            .invoke_async(&mut self.con().await?)
            .await
            .map_err(backend)?;
        if closed == 1 {
            tracing::warn!(run = %run, "closed a run whose instance stopped answering");
        }
        Ok(())
    }
}

/// KEYS: log, done flag, channel, the conversation's active key. ARGV: error event JSON,
/// last_chunk JSON, retention seconds, run id. Frees the conversation if the run still holds
/// it; appends both events after the log's last one and publishes them, unless the run is done
/// or its log already ends with `last_chunk`.
const CLOSE_ABANDONED: &str = r#"
if redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local seq = 0
if #last > 0 then
  -- Ended after all (its writer only had `finish` left to do): nothing to close.
  if string.find(last[1][2][2], '"event":"last_chunk"', 1, true) then return 0 end
  seq = tonumber(string.match(last[1][1], '^(%d+)'))
end
for i = 1, 2 do
  seq = seq + 1
  redis.call('XADD', KEYS[1], seq .. '-1', 'e', ARGV[i])
  redis.call('PUBLISH', KEYS[3], '{"seq":' .. seq .. ',"event":' .. ARGV[i] .. '}')
end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', KEYS[3], 'done')
return 1
"#;

/// Why building the registry failed.
#[derive(Debug, thiserror::Error)]
#[error("invalid Redis URL: {0}")]
pub struct RedisUrlError(pub(crate) String);

impl RedisRuns {
    /// Parses the URL; connections are made on first use (start-up does not wait for Redis).
    pub fn new(url: &str, config: RedisRunsConfig) -> Result<Self, RedisUrlError> {
        let client = redis::Client::open(url).map_err(|e| RedisUrlError(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                con: OnceCell::new(),
                hub: OnceCell::new(),
                config,
                instance: new_instance_id(),
            }),
        })
    }
}

/// A random id for this instance (no two processes share one).
fn new_instance_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded randomly per process: randomness without a dependency.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}

#[async_trait::async_trait]
impl RunRegistry for RedisRuns {
    async fn begin(&self, conversation: ConversationId, owner: UserId) -> Result<Box<dyn RunWriter>, RunError> {
        writer::begin(self.inner.clone(), conversation, owner).await
    }

    async fn attach(&self, conversation: ConversationId, after_seq: u64) -> Result<Option<Attachment>, RunError> {
        let inner = &self.inner;
        let Some(run) = inner.get_run(&inner.last_key(conversation)).await? else {
            return Ok(None);
        };
        // Subscribe before reading the log: nothing can fall between the two. And the `done`
        // flag before the log: a run marked done has its whole log written, so a run ending
        // during this attach is either followed live or replayed to its end.
        let live = inner.hub().await?.subscribe(&inner.channel(run)).await?;
        let done = inner.is_done(run).await?;
        let missed = inner.events_after(run, after_seq).await?;
        let last = missed.last().map_or(after_seq, |e| e.seq);
        let ended = missed.last().is_some_and(|e| e.event.is_last());
        let replay = stream::iter(missed);
        let events: BoxStream<'static, RunEvent> = if done || ended {
            replay.boxed()
        } else {
            replay
                .chain(live_events(self.inner.clone(), conversation, run, live, last))
                .boxed()
        };
        Ok(Some(Attachment {
            run,
            active: !done,
            events,
        }))
    }

    async fn request_stop(&self, conversation: ConversationId) -> Result<bool, RunError> {
        let inner = &self.inner;
        let Some(run) = inner.get_run(&inner.active_key(conversation)).await? else {
            return Ok(false);
        };
        let mut con = inner.con().await?;
        redis::pipe()
            .cmd("SET")
            .arg(inner.run_key(run, "stop"))
            .arg(1)
            .arg("EX")
            .arg(3600)
            .ignore()
            .cmd("PUBLISH")
            .arg(inner.channel(run))
            .arg("stop")
            .ignore()
            .query_async::<()>(&mut con)
            .await
            .map_err(backend)?;
        Ok(true)
    }

    async fn active(&self, conversation: ConversationId) -> Result<Option<RunId>, RunError> {
        self.inner.get_run(&self.inner.active_key(conversation)).await
    }

    async fn is_alive(&self, conversation: ConversationId, run: RunId) -> Result<bool, RunError> {
        self.inner.is_alive(conversation, run).await
    }

    async fn streamed_text(&self, _conversation: ConversationId, run: RunId) -> Result<Option<String>, RunError> {
        let events = self.inner.events_after(run, 0).await?;
        if events.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            events
                .into_iter()
                .filter_map(|e| match e.event {
                    TurnEvent::Assistant { content } => Some(content),
                    _ => None,
                })
                .collect(),
        ))
    }

    async fn close_dead(&self, conversation: ConversationId, run: RunId) -> Result<(), RunError> {
        self.inner.close_abandoned(conversation, run).await
    }

    async fn started(&self) -> Result<Option<BoxStream<'static, RunStarted>>, RunError> {
        let rx = self.inner.hub().await?.subscribe(&self.inner.started_channel()).await?;
        let notices = stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(msg) => match parse_started(&msg) {
                        Some(s) => return Some((s, rx)),
                        None => tracing::warn!("ignored a malformed run notice"),
                    },
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            missed = n,
                            "missed run notices: some sockets may not see those runs live"
                        )
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(Some(notices.boxed()))
    }
}

/// The payload on the started channel.
pub(crate) fn started_notice(conversation: ConversationId, run: RunId) -> String {
    serde_json::json!({"conversation": conversation.0, "run": run.0}).to_string()
}

fn parse_started(msg: &str) -> Option<RunStarted> {
    let v: serde_json::Value = serde_json::from_str(msg).ok()?;
    Some(RunStarted {
        conversation: ConversationId(v.get("conversation")?.as_i64()?),
        run: RunId(v.get("run")?.as_u64()?),
    })
}

/// Live events after `last` until `last_chunk`/`done`; refills gaps from the log, and closes
/// the run if its lease lapsed without an end.
fn live_events(
    inner: Arc<Inner>,
    conversation: ConversationId,
    run: RunId,
    rx: broadcast::Receiver<String>,
    last: u64,
) -> impl futures::Stream<Item = RunEvent> + Send + 'static {
    struct S {
        inner: Arc<Inner>,
        rx: broadcast::Receiver<String>,
        last: u64,
        backlog: std::collections::VecDeque<RunEvent>,
        finished: bool,
    }
    let start = S {
        inner,
        rx,
        last,
        backlog: Default::default(),
        finished: false,
    };
    stream::unfold(start, move |mut s| async move {
        loop {
            if let Some(e) = s.backlog.pop_front() {
                if e.seq <= s.last {
                    continue;
                }
                s.last = e.seq;
                s.finished |= e.event.is_last();
                return Some((e, s));
            }
            if s.finished {
                return None;
            }
            let check_every = s.inner.config.lease / 2;
            match tokio::time::timeout(check_every, s.rx.recv()).await {
                Ok(Ok(msg)) if msg == "done" => {
                    // Anything published before `done` but missed: from the log.
                    s.backlog = s.inner.events_after(run, s.last).await.unwrap_or_default().into();
                    s.finished = true;
                }
                Ok(Ok(msg)) if msg == "stop" => {}
                Ok(Ok(msg)) if msg == hub::RESYNC => {
                    // The pub/sub connection was down: whatever was published meanwhile is in
                    // the log.
                    s.backlog = s.inner.events_after(run, s.last).await.unwrap_or_default().into();
                    if s.inner.is_done(run).await.unwrap_or(false) {
                        s.finished = true;
                    }
                }
                Ok(Ok(msg)) => match serde_json::from_str::<RunEvent>(&msg) {
                    Ok(e) if e.seq <= s.last => {}
                    Ok(e) if e.seq == s.last + 1 => s.backlog.push_back(e),
                    // A gap (a lagged channel): refill from the log.
                    _ => s.backlog = s.inner.events_after(run, s.last).await.unwrap_or_default().into(),
                },
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    s.backlog = s.inner.events_after(run, s.last).await.unwrap_or_default().into();
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                Err(_) => {
                    // Quiet for a while: is the writer still alive?
                    let alive = s.inner.is_alive(conversation, run).await;
                    if matches!(alive, Ok(false)) && !s.inner.is_done(run).await.unwrap_or(true) {
                        if let Err(e) = s.inner.close_abandoned(conversation, run).await {
                            tracing::warn!(error = %e, "could not close an abandoned run");
                        }
                    } else if s.inner.is_done(run).await.unwrap_or(false) {
                        s.backlog = s.inner.events_after(run, s.last).await.unwrap_or_default().into();
                        s.finished = true;
                    }
                }
            }
        }
    })
}

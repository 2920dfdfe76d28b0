//! One pub/sub connection per registry, fanning channel messages out to local receivers.
//!
//! The connection is re-established when it drops (Redis restarted, a proxy timed it out, a
//! network blip), with every channel subscribed again; since messages published meanwhile are
//! lost, every receiver then gets [`RESYNC`] and re-reads what it needs from the logs. The hub
//! also stays subscribed to its instance's *presence* channel for as long as it lives: other
//! instances count that channel's subscribers to tell whether this instance is still alive
//! (a killed process's connection closes at once, no lease to wait for).

use super::backend;
use futures::StreamExt;
use meai_core::turn::RunError;
use redis::aio::{PubSubSink, PubSubStream};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// Sent to every receiver after the connection was re-established.
pub(crate) const RESYNC: &str = "resync";

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<String>>>>;

struct Shared {
    client: redis::Client,
    /// `None` while reconnecting: subscriptions made then are taken by the new connection.
    sink: tokio::sync::Mutex<Option<PubSubSink>>,
    channels: Channels,
    presence: String,
}

pub(crate) struct Hub {
    shared: Arc<Shared>,
    dispatch: tokio::task::AbortHandle,
}

fn lock(c: &Channels) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<String>>> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

/// Connects, subscribes the presence channel and every channel in use, and installs the sink.
async fn open(shared: &Shared) -> redis::RedisResult<PubSubStream> {
    let (mut sink, stream) = shared.client.get_async_pubsub().await?.split();
    sink.subscribe(&shared.presence).await?;
    let mut slot = shared.sink.lock().await;
    let names: Vec<String> = lock(&shared.channels).keys().cloned().collect();
    for name in names {
        sink.subscribe(&name).await?;
    }
    *slot = Some(sink);
    Ok(stream)
}

async fn dispatch(shared: Arc<Shared>, mut stream: PubSubStream) {
    loop {
        while let Some(msg) = stream.next().await {
            let channel = msg.get_channel_name().to_owned();
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
            let done = payload == "done";
            let sender = {
                let mut map = lock(&shared.channels);
                if done {
                    map.remove(&channel)
                } else {
                    map.get(&channel).cloned()
                }
            };
            if let Some(tx) = sender {
                let _ = tx.send(payload);
            }
            if done && let Some(sink) = shared.sink.lock().await.as_mut() {
                let _ = sink.unsubscribe(&channel).await;
            }
        }
        *shared.sink.lock().await = None;
        tracing::warn!("the Redis pub/sub connection closed: reconnecting");
        let mut retry = Duration::from_millis(100);
        stream = loop {
            tokio::time::sleep(retry).await;
            match open(&shared).await {
                Ok(stream) => break stream,
                Err(e) => {
                    tracing::warn!(error = %e, retry_ms = retry.as_millis() as u64, "could not reconnect to Redis pub/sub");
                    retry = (retry * 2).min(Duration::from_secs(5));
                }
            }
        };
        tracing::info!("the Redis pub/sub connection is back");
        let senders: Vec<_> = lock(&shared.channels).values().cloned().collect();
        for tx in senders {
            let _ = tx.send(RESYNC.to_owned());
        }
    }
}

impl Hub {
    pub(crate) async fn connect(client: &redis::Client, presence: String) -> redis::RedisResult<Self> {
        let shared = Arc::new(Shared {
            client: client.clone(),
            sink: tokio::sync::Mutex::new(None),
            channels: Arc::default(),
            presence,
        });
        let stream = open(&shared).await?;
        let dispatch = tokio::spawn(dispatch(shared.clone(), stream)).abort_handle();
        Ok(Self { shared, dispatch })
    }

    /// A receiver of the channel's messages, subscribed when this returns (or, while the
    /// connection is being re-established, as soon as it is back).
    pub(crate) async fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<String>, RunError> {
        if let Some(tx) = lock(&self.shared.channels).get(channel) {
            return Ok(tx.subscribe());
        }
        let mut sink = self.shared.sink.lock().await;
        // Another task may have subscribed while we waited for the sink.
        let rx = {
            let mut map = lock(&self.shared.channels);
            if let Some(tx) = map.get(channel) {
                return Ok(tx.subscribe());
            }
            let (tx, rx) = broadcast::channel(1024);
            map.insert(channel.to_owned(), tx);
            rx
        };
        if let Some(sink) = sink.as_mut()
            && let Err(e) = sink.subscribe(channel).await
        {
            lock(&self.shared.channels).remove(channel);
            return Err(backend(e));
        }
        Ok(rx)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        // Ends the connection (and this instance's presence) with the registry.
        self.dispatch.abort();
    }
}

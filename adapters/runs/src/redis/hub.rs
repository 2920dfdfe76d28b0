//! One pub/sub connection per registry, fanning channel messages out to local receivers.

use super::backend;
use futures::StreamExt;
use meai_core::turn::RunError;
use redis::aio::PubSubSink;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<String>>>>;

pub(crate) struct Hub {
    sink: tokio::sync::Mutex<PubSubSink>,
    channels: Channels,
}

fn lock(c: &Channels) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<String>>> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    pub(crate) async fn connect(client: &redis::Client) -> redis::RedisResult<Self> {
        let (sink, mut stream) = client.get_async_pubsub().await?.split();
        let channels: Channels = Arc::default();
        let dispatch = channels.clone();
        let mut unsubscribe = sink.clone();
        tokio::spawn(async move {
            while let Some(msg) = stream.next().await {
                let channel = msg.get_channel_name().to_owned();
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                let done = payload == "done";
                let sender = {
                    let mut map = lock(&dispatch);
                    if done {
                        map.remove(&channel)
                    } else {
                        map.get(&channel).cloned()
                    }
                };
                if let Some(tx) = sender {
                    let _ = tx.send(payload);
                }
                if done {
                    let _ = unsubscribe.unsubscribe(&channel).await;
                }
            }
            tracing::error!("the Redis pub/sub connection closed: live run events stop on this instance");
        });
        Ok(Self {
            sink: tokio::sync::Mutex::new(sink),
            channels,
        })
    }

    /// A receiver of the channel's messages, subscribed when this returns.
    pub(crate) async fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<String>, RunError> {
        if let Some(tx) = lock(&self.channels).get(channel) {
            return Ok(tx.subscribe());
        }
        let mut sink = self.sink.lock().await;
        // Another task may have subscribed while we waited for the sink.
        let rx = {
            let mut map = lock(&self.channels);
            if let Some(tx) = map.get(channel) {
                return Ok(tx.subscribe());
            }
            let (tx, rx) = broadcast::channel(1024);
            map.insert(channel.to_owned(), tx);
            rx
        };
        sink.subscribe(channel).await.map_err(backend)?;
        Ok(rx)
    }
}

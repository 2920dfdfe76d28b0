//! Indexing off the hot path: the turn hands its new messages to a bounded queue and a
//! background worker (spawned by the edge: the core does not spawn) embeds and stores them in
//! batches. A full queue drops messages (counted, logged) rather than slowing a turn down.

use super::{Memory, Recalled};
use crate::turn::{Recall, RecallError};
use crate::{ConversationId, Message, UserId};
use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use std::sync::Mutex;

/// Messages waiting to be embedded are written in batches of at most this many.
const BATCH: usize = 64;

/// The sending side of the indexing queue.
pub struct IndexQueue {
    tx: Mutex<mpsc::Sender<Message>>,
    memory: Memory,
}

impl IndexQueue {
    /// Queues the messages without waiting.
    pub fn submit(&self, messages: &[Message]) {
        let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let mut dropped = 0;
        for m in messages {
            if tx.try_send(m.clone()).is_err() {
                dropped += 1;
            }
        }
        if dropped > 0 {
            self.memory.count_dropped(dropped);
            tracing::warn!(
                dropped,
                "indexing queue full: messages left out of memory until `meai reindex`"
            );
        }
    }
}

impl Memory {
    /// The queue and the worker draining it; the caller spawns `worker`, which ends once the
    /// queue is dropped.
    pub fn indexer(&self, capacity: usize) -> (IndexQueue, BoxFuture<'static, ()>) {
        let (tx, rx) = mpsc::channel(capacity);
        let memory = self.clone();
        let worker = async move {
            let mut batches = rx.ready_chunks(BATCH);
            while let Some(batch) = batches.next().await {
                memory.index_logged(&batch).await;
            }
        }
        .boxed();
        (
            IndexQueue {
                tx: Mutex::new(tx),
                memory: self.clone(),
            },
            worker,
        )
    }
}

/// The turn's [`Recall`] seam on [`Memory`]: recall on the hot path, indexing queued.
pub struct MemoryRecall {
    memory: Memory,
    queue: IndexQueue,
}

impl MemoryRecall {
    pub fn new(memory: Memory, queue: IndexQueue) -> Self {
        Self { memory, queue }
    }
}

#[async_trait::async_trait]
impl Recall for MemoryRecall {
    async fn recall(
        &self,
        user: UserId,
        conversation: ConversationId,
        query: &str,
        limit: usize,
    ) -> Result<Recalled, RecallError> {
        let outcome = self.memory.recall(user, conversation, query, limit).await;
        self.memory.count_recall(outcome.is_ok());
        Ok(outcome?)
    }

    async fn remember(&self, _user: UserId, messages: &[Message]) {
        self.queue.submit(messages);
    }
}

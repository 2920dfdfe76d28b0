//! Reads of one kind asked for while one is on its way to the database, sent together as one
//! statement when it is back. On PostgreSQL a request's one small read (a list's version, a
//! tree's version) is a round trip to another process, which cost more than the rest of the
//! request; at 64 concurrent requests most of those round trips carry the same query.
//!
//! Exact as a read of its own: a read joins the next statement, never one already sent, so it
//! sees every write committed before it was asked for (what the version caches rely on). Safe
//! to cancel: a leader dropped mid-statement hands its turn on, and the reads it carried ask
//! again.

use crate::error::SqlError;
use meai_core::StoreError;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;

/// Keys sent in one statement at most (well under either database's parameter limit).
const MAX_KEYS: usize = 128;

enum Turn<K, V> {
    Answer(Result<Option<V>, String>),
    /// Send the statement for those waiting now.
    Lead(Baton<K, V>),
}

type Waiter<K, V> = (K, oneshot::Sender<Turn<K, V>>);

struct Queue<K, V> {
    /// A statement is on its way; the baton's holder hands the turn on when it is back.
    busy: bool,
    waiting: VecDeque<Waiter<K, V>>,
}

type Shared<K, V> = Arc<Mutex<Queue<K, V>>>;

fn lock<K, V>(queue: &Shared<K, V>) -> MutexGuard<'_, Queue<K, V>> {
    // The queue is consistent between statements: nothing in it can panic half-way.
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The turn to send the next statement. Dropped anywhere (used, or never received by a
/// waiter cancelled after it was sent) it passes to the first waiter still there, or frees the
/// turn, so no waiter is left behind a turn nobody holds.
struct Baton<K, V> {
    queue: Shared<K, V>,
    armed: bool,
}

impl<K, V> Drop for Baton<K, V> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut queue = lock(&self.queue);
        while let Some((_, tx)) = queue.waiting.pop_front() {
            let baton = Baton {
                queue: self.queue.clone(),
                armed: true,
            };
            match tx.send(Turn::Lead(baton)) {
                Ok(()) => return,
                // That waiter is gone: the baton comes back and must not hand on again.
                Err(Turn::Lead(mut baton)) => baton.armed = false,
                Err(Turn::Answer(_)) => {}
            }
        }
        queue.busy = false;
    }
}

pub(crate) struct Batcher<K, V> {
    queue: Shared<K, V>,
}

impl<K, V> Default for Batcher<K, V> {
    fn default() -> Self {
        let queue = Queue {
            busy: false,
            waiting: VecDeque::new(),
        };
        Self {
            queue: Arc::new(Mutex::new(queue)),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Batcher<K, V> {
    /// `key`'s value (`None` when `read` brings none for it). `read` gets distinct keys and
    /// returns the values it found; it is run by whichever caller's turn it is.
    pub(crate) async fn get<F, Fut>(&self, key: K, read: F) -> Result<Option<V>, StoreError>
    where
        F: Fn(Vec<K>) -> Fut,
        Fut: Future<Output = Result<Vec<(K, V)>, StoreError>>,
    {
        loop {
            let turn = {
                let mut queue = lock(&self.queue);
                if queue.busy {
                    let (tx, rx) = oneshot::channel();
                    queue.waiting.push_back((key.clone(), tx));
                    Err(rx)
                } else {
                    queue.busy = true;
                    Ok(Baton {
                        queue: self.queue.clone(),
                        armed: true,
                    })
                }
            };
            let baton = match turn {
                Ok(baton) => baton,
                Err(rx) => match rx.await {
                    Ok(Turn::Answer(answer)) => return answer.map_err(|e| SqlError::Batch(e).into()),
                    Ok(Turn::Lead(baton)) => baton,
                    // The statement carrying it was dropped: ask again.
                    Err(_) => continue,
                },
            };
            return self.lead(baton, key, &read).await;
        }
    }

    /// Sends `key` with everyone waiting and answers them; the baton hands the turn on when
    /// this returns or is dropped.
    async fn lead<F, Fut>(&self, _baton: Baton<K, V>, key: K, read: &F) -> Result<Option<V>, StoreError>
    where
        F: Fn(Vec<K>) -> Fut,
        Fut: Future<Output = Result<Vec<(K, V)>, StoreError>>,
    {
        let carried: Vec<Waiter<K, V>> = {
            let mut queue = lock(&self.queue);
            let n = queue.waiting.len().min(MAX_KEYS - 1);
            queue.waiting.drain(..n).collect()
        };
        let mut keys = Vec::with_capacity(carried.len() + 1);
        keys.push(key.clone());
        for (k, _) in &carried {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        match read(keys).await {
            Ok(found) => {
                let found: HashMap<K, V> = found.into_iter().collect();
                for (k, tx) in carried {
                    // A waiter gone has nothing to be told.
                    let _ = tx.send(Turn::Answer(Ok(found.get(&k).cloned())));
                }
                Ok(found.get(&key).cloned())
            }
            Err(e) => {
                let said = e.to_string();
                for (_, tx) in carried {
                    let _ = tx.send(Turn::Answer(Err(said.clone())));
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    /// A read that counts its statements and doubles each key, held until `gate` opens.
    struct Fake {
        statements: AtomicUsize,
        sent: Mutex<Vec<Vec<u32>>>,
        gate: Notify,
    }

    impl Fake {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                statements: AtomicUsize::new(0),
                sent: Mutex::new(Vec::new()),
                gate: Notify::new(),
            })
        }

        async fn read(&self, keys: Vec<u32>) -> Result<Vec<(u32, u32)>, StoreError> {
            self.statements.fetch_add(1, Ordering::SeqCst);
            self.sent.lock().unwrap().push(keys.clone());
            self.gate.notified().await;
            Ok(keys.into_iter().filter(|k| *k != 0).map(|k| (k, k * 2)).collect())
        }
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn reads_asked_during_a_statement_go_together_in_the_next() {
        let batcher = Arc::new(Batcher::<u32, u32>::default());
        let fake = Fake::new();
        let ask = |key| {
            let (batcher, fake) = (batcher.clone(), fake.clone());
            tokio::spawn(async move { batcher.get(key, |keys| fake.read(keys)).await.unwrap() })
        };
        let first = ask(1);
        settle().await;
        let later: Vec<_> = [2, 3, 2, 0].into_iter().map(ask).collect();
        settle().await;
        assert_eq!(
            fake.statements.load(Ordering::SeqCst),
            1,
            "the others wait for the first"
        );
        fake.gate.notify_one();
        assert_eq!(first.await.unwrap(), Some(2));
        settle().await;
        fake.gate.notify_one();
        let got: Vec<_> = futures::future::join_all(later)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, [Some(4), Some(6), Some(4), None]);
        let sent = fake.sent.lock().unwrap().clone();
        assert_eq!(
            sent,
            [vec![1], vec![2, 3, 0]],
            "one statement for the four, each key once"
        );
    }

    #[tokio::test]
    async fn a_leader_dropped_mid_statement_hands_on_and_its_reads_ask_again() {
        let batcher = Arc::new(Batcher::<u32, u32>::default());
        let fake = Fake::new();
        let ask = |key| {
            let (batcher, fake) = (batcher.clone(), fake.clone());
            tokio::spawn(async move { batcher.get(key, |keys| fake.read(keys)).await.unwrap() })
        };
        let first = ask(1);
        settle().await;
        let second = ask(2);
        let third = ask(3);
        settle().await;
        fake.gate.notify_one();
        first.await.unwrap();
        settle().await;
        // The second leads [2, 3]; dropping it leaves the third to ask again and lead.
        second.abort();
        settle().await;
        fake.gate.notify_one();
        assert_eq!(third.await.unwrap(), Some(6));
        let sent = fake.sent.lock().unwrap().clone();
        assert_eq!(sent, [vec![1], vec![2, 3], vec![3]]);
        // And the turn is free again.
        let fourth = ask(4);
        settle().await;
        fake.gate.notify_one();
        assert_eq!(fourth.await.unwrap(), Some(8));
    }

    #[tokio::test]
    async fn a_waiter_cancelled_after_its_turn_came_does_not_keep_it() {
        let batcher = Batcher::<u32, u32>::default();
        let fake = Fake::new();
        let read = |keys| fake.read(keys);
        let mut leader = std::pin::pin!(batcher.get(1, read));
        assert!(futures::poll!(leader.as_mut()).is_pending());
        let mut waiter = Box::pin(batcher.get(2, read));
        assert!(futures::poll!(waiter.as_mut()).is_pending());
        fake.gate.notify_one();
        assert!(matches!(
            futures::poll!(leader.as_mut()),
            std::task::Poll::Ready(Ok(Some(2)))
        ));
        // The turn was handed to the waiter, which is dropped before it ever looks.
        drop(waiter);
        fake.gate.notify_one();
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), batcher.get(3, read)).await;
        assert_eq!(next.expect("the turn is free again").unwrap(), Some(6));
    }

    #[tokio::test]
    async fn a_failed_statement_fails_every_read_it_carried() {
        let batcher = Batcher::<u32, u32>::default();
        let failing = |_: Vec<u32>| async { Err::<Vec<(u32, u32)>, _>(StoreError::NotFound) };
        assert!(matches!(batcher.get(1, failing).await, Err(StoreError::NotFound)));
        // Free again after a failure.
        let ok = |keys: Vec<u32>| async move { Ok(keys.into_iter().map(|k| (k, k)).collect()) };
        assert_eq!(batcher.get(5, ok).await.unwrap(), Some(5));
    }
}

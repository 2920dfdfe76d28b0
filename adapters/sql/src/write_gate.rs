//! SQLite's one writer at a time, queued in this process (FIFO, so no writer spins in SQLite's
//! busy handler), with the writes a person is waiting on first.
//!
//! A question and its answer's draft sit before the answer's first token; checkpoints, stored
//! answers and upkeep (vectors, titles, summaries) do not. Under load the first kind used to
//! wait behind every write queued before it. Now the other kind queues one at a time: a
//! waiting question has at most one of them ahead of it besides the write in progress, and
//! each of them still gets its turn in order (none is starved).

use tokio::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub(crate) struct WriteGate {
    turn: Mutex<()>,
    /// The line the other writes wait in before they queue for the turn.
    line: Mutex<()>,
}

impl WriteGate {
    /// The turn for a write on the way to a first token.
    pub(crate) async fn first(&self) -> MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// The turn for any other write.
    pub(crate) async fn rest(&self) -> MutexGuard<'_, ()> {
        // Left as soon as the turn is queued for, so the next one waits in the turn's queue
        // meanwhile; dropped with this future if it is cancelled.
        let _line = self.line.lock().await;
        self.turn.lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::WriteGate;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// Lets the spawned writers run up to where they wait.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    fn writer(
        gate: &Arc<WriteGate>,
        order: &Arc<Mutex<Vec<&'static str>>>,
        name: &'static str,
        first: bool,
    ) -> tokio::task::JoinHandle<()> {
        let (gate, order) = (gate.clone(), order.clone());
        tokio::spawn(async move {
            let _turn = if first { gate.first().await } else { gate.rest().await };
            order.lock().unwrap().push(name);
        })
    }

    #[tokio::test]
    async fn a_question_waits_behind_one_other_write_at_most() {
        let gate = Arc::new(WriteGate::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = gate.rest().await;
        let mut writers = Vec::new();
        for name in ["checkpoint 1", "checkpoint 2", "checkpoint 3"] {
            writers.push(writer(&gate, &order, name, false));
            settle().await;
        }
        writers.push(writer(&gate, &order, "question", true));
        settle().await;
        drop(held);
        for w in writers {
            w.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["checkpoint 1", "question", "checkpoint 2", "checkpoint 3"]
        );
    }

    #[tokio::test]
    async fn the_other_writes_keep_their_order_and_all_get_a_turn() {
        let gate = Arc::new(WriteGate::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = gate.first().await;
        let mut writers = Vec::new();
        for (name, first) in [("a", false), ("q1", true), ("b", false), ("q2", true), ("c", false)] {
            writers.push(writer(&gate, &order, name, first));
            settle().await;
        }
        drop(held);
        for w in writers {
            w.await.unwrap();
        }
        let order = order.lock().unwrap();
        let others: Vec<_> = order.iter().filter(|n| !n.starts_with('q')).collect();
        assert_eq!(others, [&"a", &"b", &"c"]);
        assert_eq!(order.len(), 5);
        assert_eq!(order[..3], ["a", "q1", "q2"], "the questions go before b and c");
    }

    #[tokio::test]
    async fn a_write_cancelled_while_it_waits_keeps_no_one_waiting() {
        let gate = Arc::new(WriteGate::default());
        let held = gate.first().await;
        let cancelled = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _turn = gate.rest().await;
            })
        };
        settle().await;
        cancelled.abort();
        let _ = cancelled.await;
        drop(held);
        let later = tokio::time::timeout(Duration::from_secs(5), gate.rest()).await;
        assert!(later.is_ok(), "the line and the turn are free again");
    }
}

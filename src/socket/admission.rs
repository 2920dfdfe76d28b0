//! Per-socket admission of client events, decided as each event arrives (socketioxide runs
//! extractors in arrival order, before it spawns the handler's task):
//! - an expired session's events are refused and the socket closed;
//! - an event over `SOCKET_MAX_EVENT_BYTES` is refused;
//! - events beyond the rate (`SOCKET_EVENT_RATE` per second, bursts of `SOCKET_EVENT_BURST`; a
//!   token bucket) are refused;
//! - at most [`QUEUE`] admitted events wait for their turn; more are refused.
//!
//! A refused event gets an `error` event and is dropped. A socket that keeps going (more than
//! [`STRIKES`] refusals, refilling one per second) is disconnected. Admitted events run one at a
//! time, in arrival order ([`Admitted::turn`]). Events without a handler cost nothing here:
//! socketioxide drops them before any extractor runs.

use super::sessions;
use crate::config::Config;
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::SocketRef;
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;
use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Admitted events of one socket waiting for their turn or running, at most.
pub const QUEUE: u64 = 16;
/// Refusals a socket may accumulate (one is forgiven per second) before it is disconnected.
pub const STRIKES: u32 = 20;

/// The per-socket limits, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct EventLimits {
    /// Events per second; `None`: unlimited.
    rate: Option<Quota>,
    max_bytes: usize,
}

impl EventLimits {
    pub fn new(config: &Config) -> Self {
        let rate = NonZeroU32::new(config.socket_event_rate).map(|rate| {
            let burst = NonZeroU32::new(config.socket_event_burst).unwrap_or(rate);
            Quota::per_second(rate).allow_burst(burst)
        });
        Self {
            rate,
            max_bytes: config.socket_max_event_bytes,
        }
    }

    /// The hard cap on one incoming websocket message or polling request, enforced by
    /// engine.io itself (it closes the connection): twice the event limit, so an event a little
    /// over it is answered with an `error` instead.
    pub fn transport_cap(&self) -> usize {
        self.max_bytes.saturating_mul(2).max(64 * 1024)
    }
}

/// One socket's admission state, in its extensions.
pub struct Gate {
    limits: EventLimits,
    expires_at: DateTime<Utc>,
    rate: Option<DefaultDirectRateLimiter>,
    strikes: DefaultDirectRateLimiter,
    order: Mutex<Order>,
    turn_changed: Notify,
}

/// Tickets in arrival order: `serving` is the oldest ticket not finished.
#[derive(Default)]
struct Order {
    issued: u64,
    serving: u64,
    /// Tickets finished out of order (a handler whose other extractors failed).
    finished: BTreeSet<u64>,
    /// Decided to disconnect: every further event is dropped.
    barred: bool,
}

impl Gate {
    pub fn new(limits: EventLimits, expires_at: DateTime<Utc>) -> Self {
        let strikes =
            Quota::per_second(NonZeroU32::MIN).allow_burst(NonZeroU32::new(STRIKES).unwrap_or(NonZeroU32::MIN));
        Self {
            limits,
            expires_at,
            rate: limits.rate.map(RateLimiter::direct),
            strikes: RateLimiter::direct(strikes),
            order: Mutex::default(),
            turn_changed: Notify::new(),
        }
    }

    fn order(&self) -> std::sync::MutexGuard<'_, Order> {
        self.order.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn admit<const TURN: bool>(self: &Arc<Self>, socket: &SocketRef, bytes: usize) -> Result<Admitted<TURN>, Refusal> {
        if self.order().barred {
            return Err(Refusal::Barred);
        }
        if self.expires_at <= Utc::now() {
            self.bar();
            sessions::close(socket.clone(), sessions::SESSION_EXPIRED);
            return Err(Refusal::Expired);
        }
        if bytes > self.limits.max_bytes {
            return Err(self.strike(socket, Refusal::TooLarge(self.limits.max_bytes), TURN));
        }
        if let Some(rate) = &self.rate
            && rate.check().is_err()
        {
            return Err(self.strike(socket, Refusal::TooFast, TURN));
        }
        let mut order = self.order();
        if order.issued - order.serving >= QUEUE {
            drop(order);
            return Err(self.strike(socket, Refusal::Queued, TURN));
        }
        let ticket = order.issued;
        order.issued += 1;
        Ok(Admitted {
            gate: self.clone(),
            ticket,
        })
    }

    /// Tells the client why its event was dropped (a refused `message` still ends with
    /// `last_chunk`, as every message does); disconnects a client that keeps going.
    fn strike(&self, socket: &SocketRef, refusal: Refusal, ends_turn: bool) -> Refusal {
        crate::metrics::metrics()
            .rate_limited
            .with_label_values(&[refusal.label()])
            .inc();
        if self.strikes.check().is_ok() {
            let _ = socket.emit("error", &super::wire::error(refusal.to_string(), None));
            if ends_turn {
                let _ = socket.emit("last_chunk", &super::wire::last_chunk(None));
            }
            return refusal;
        }
        tracing::info!(sid = %socket.id, reason = refusal.label(), "disconnecting a socket over its event limits");
        self.bar();
        // A moment for what was already sent to it (the refusals) to leave before it closes.
        let socket = socket.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            sessions::close(socket, &Refusal::Barred.to_string());
        });
        Refusal::Barred
    }

    /// Drops every further event, and the admitted ones not yet run.
    fn bar(&self) {
        self.order().barred = true;
        self.turn_changed.notify_waiters();
    }

    fn finish(&self, ticket: u64) {
        {
            let mut guard = self.order();
            let order = &mut *guard;
            order.finished.insert(ticket);
            while order.finished.remove(&order.serving) {
                order.serving += 1;
            }
        }
        self.turn_changed.notify_waiters();
    }
}

/// Refuses every further event of the socket (it is being closed or is gone).
pub fn bar(socket: &SocketRef) {
    if let Some(gate) = socket.extensions.get::<Arc<Gate>>() {
        gate.bar();
    }
}

/// Why an event was not admitted; the text is the `error` the client gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Event too large: at most {0} bytes")]
    TooLarge(usize),
    #[error("Too many events: slow down")]
    TooFast,
    #[error("Too many events waiting: slow down")]
    Queued,
    #[error("{}", sessions::SESSION_EXPIRED)]
    Expired,
    #[error("Too many refused events: disconnecting")]
    Barred,
    #[error("This connection is not set up for events")]
    NoGate,
}

impl Refusal {
    fn label(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "socket_event_size",
            Self::TooFast | Self::Queued => "socket_event_rate",
            Self::Expired | Self::Barred | Self::NoGate => "socket_closed",
        }
    }
}

/// An admitted event: its place in the socket's order. Dropping it (when the handler ends)
/// lets the next event run. `TURN`: the event starts a turn (`message`), so a refusal also
/// sends `last_chunk`.
pub struct Admitted<const TURN: bool = false> {
    gate: Arc<Gate>,
    ticket: u64,
}

/// An admitted `message`.
pub type AdmittedMessage = Admitted<true>;

impl<const TURN: bool> Admitted<TURN> {
    /// Waits until every event that arrived before this one finished; false when the socket is
    /// being closed meanwhile (the event is then dropped).
    pub async fn turn(&self) -> bool {
        loop {
            let changed = self.gate.turn_changed.notified();
            {
                let order = self.gate.order();
                if order.barred {
                    return false;
                }
                if order.serving == self.ticket {
                    return true;
                }
            }
            changed.await;
        }
    }
}

impl<const TURN: bool> Drop for Admitted<TURN> {
    fn drop(&mut self) {
        self.gate.finish(self.ticket);
    }
}

/// The size of an event as it arrived: its JSON text and binary attachments.
fn size(v: &Value) -> usize {
    match v {
        Value::Str(text, bins) => text.as_bytes().len() + bins.iter().flatten().map(|b| b.len()).sum::<usize>(),
        Value::Bytes(b) => b.len(),
    }
}

impl<const TURN: bool> FromMessageParts<LocalAdapter> for Admitted<TURN> {
    type Error = Refusal;

    fn from_message_parts(s: &Arc<Socket<LocalAdapter>>, v: &mut Value, _: &Option<i64>) -> Result<Self, Refusal> {
        let socket = SocketRef::from(s.clone());
        let Some(gate) = s.extensions.get::<Arc<Gate>>() else {
            return Err(Refusal::NoGate);
        };
        gate.admit(&socket, size(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tickets_run_in_order_even_when_one_is_dropped_early() {
        let limits = EventLimits {
            rate: None,
            max_bytes: 1024,
        };
        let gate = Arc::new(Gate::new(limits, Utc::now() + chrono::Duration::hours(1)));
        let ticket = |gate: &Arc<Gate>| {
            let mut order = gate.order();
            let t = order.issued;
            order.issued += 1;
            Admitted::<false> {
                gate: gate.clone(),
                ticket: t,
            }
        };
        let (first, second, third) = (ticket(&gate), ticket(&gate), ticket(&gate));
        drop(second); // its handler never ran
        let waiting = tokio::spawn(async move {
            third.turn().await;
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the third waits for the first");
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("then it runs")
            .unwrap();
        assert_eq!(gate.order().serving, 3);
    }
}

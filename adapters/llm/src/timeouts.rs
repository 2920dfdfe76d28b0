//! How long an answer may take. A model that accepts the request and then says nothing (or
//! only sends keep-alive comments, which reset no byte-level read timeout) fails with
//! [`ModelError::Timeout`](meai_core::model::ModelError::Timeout) after these, and its request
//! is dropped: the turn ends at once instead of holding its conversation for minutes.

use std::time::Duration;
use tokio::time::Instant;

/// The limits of one answer (one model call); `None` disables one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerTimeouts {
    /// From the request until the first content of the answer, retries included.
    pub first_token: Option<Duration>,
    /// Between two events of the answer once it started (text, tool-call pieces, the end).
    pub between_chunks: Option<Duration>,
    /// The whole answer, from the request to its end.
    pub total: Option<Duration>,
}

impl Default for AnswerTimeouts {
    fn default() -> Self {
        Self {
            first_token: Some(Duration::from_secs(30)),
            between_chunks: Some(Duration::from_secs(30)),
            total: Some(Duration::from_secs(90)),
        }
    }
}

/// The clock of one answer: when each wait must end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    limits: AnswerTimeouts,
    end: Option<Instant>,
}

impl Deadlines {
    pub(crate) fn start(limits: AnswerTimeouts) -> Self {
        Self {
            limits,
            end: limits.total.map(|t| Instant::now() + t),
        }
    }

    fn earliest(&self, wait: Option<Duration>) -> Option<Instant> {
        let next = wait.map(|w| Instant::now() + w);
        match (next, self.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Until the first content (from the start of the answer).
    pub(crate) fn first_token(&self, started: Instant) -> Option<Instant> {
        let first = self.limits.first_token.map(|t| started + t);
        match (first, self.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Until the next event (from now).
    pub(crate) fn next_event(&self) -> Option<Instant> {
        self.earliest(self.limits.between_chunks)
    }
}

/// `future`, or `None` once `deadline` passed.
pub(crate) async fn until<F: std::future::Future>(deadline: Option<Instant>, future: F) -> Option<F::Output> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, future).await.ok(),
        None => Some(future.await),
    }
}

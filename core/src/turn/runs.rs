//! The run registry port: assistant turns as server-side runs keyed by conversation, not tied
//! to the socket that started them.
//!
//! The turn publishes numbered events through a [`RunWriter`]; any number of listeners attach
//! with the last sequence number they saw and get the missed events, then the live ones. A stop
//! request reaches the writer as a future that resolves. The in-process registry lives in
//! `meai-runs`; a Redis one (streams for the log, pub/sub for stops) can implement the same
//! traits, which is why everything here is async and returns `'static` futures and streams.

use super::events::{RunEvent, TurnEvent};
use crate::{ConversationId, UserId};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use std::fmt;

/// Identifies one run of a conversation (a conversation has many runs over time, one at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The conversation already has a run in progress.
    #[error("a run is already active for this conversation")]
    Active,
    /// The registry's backend failed (e.g. Redis unreachable).
    #[error("run registry failure: {0}")]
    Backend(String),
}

/// A listener's view of a run: the events after the requested sequence number, then the live
/// ones; the stream ends after the run's last event.
pub struct Attachment {
    pub run: RunId,
    /// False when the run had already finished (the stream then only replays its log).
    pub active: bool,
    pub events: BoxStream<'static, RunEvent>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("run", &self.run)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// The publishing side of one run, owned by the turn.
///
/// Dropping a writer without [`RunWriter::finish`] must still end the run (a panicking or
/// aborted turn must not block its conversation forever).
#[async_trait::async_trait]
pub trait RunWriter: Send + Sync {
    fn run(&self) -> RunId;

    /// Appends an event to the run's log and delivers it to live listeners; returns its sequence
    /// number. Publishing [`TurnEvent::LastChunk`] also ends the run, atomically with its
    /// delivery: a listener that answers `last_chunk` with its next message at once must not be
    /// refused as busy. ([`RunWriter::finish`] is then a no-op.)
    async fn publish(&self, event: TurnEvent) -> Result<u64, RunError>;

    /// Resolves when someone asked to stop this run. Never resolves otherwise.
    fn stopped(&self) -> BoxFuture<'static, ()>;

    /// Ends the run: listeners' streams end, the conversation accepts a new run, and the log
    /// stays readable for a short while so late listeners can still catch up.
    async fn finish(self: Box<Self>);
}

/// A run that began somewhere (see [`RunRegistry::started`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStarted {
    pub conversation: ConversationId,
    pub run: RunId,
}

#[async_trait::async_trait]
pub trait RunRegistry: Send + Sync + 'static {
    /// Starts a run for the conversation, or [`RunError::Active`] if one is in progress.
    ///
    /// `owner` is kept with the run: a shared registry needs it to persist the partial answer
    /// of a run whose instance died (the store only writes a user's data for that user).
    async fn begin(&self, conversation: ConversationId, owner: UserId) -> Result<Box<dyn RunWriter>, RunError>;

    /// Attaches to the conversation's active run, or to its last run if it finished recently.
    /// `after_seq = 0` replays the whole run. `None` when there is no such run.
    async fn attach(&self, conversation: ConversationId, after_seq: u64) -> Result<Option<Attachment>, RunError>;

    /// Asks the active run to stop; false when no run is active.
    async fn request_stop(&self, conversation: ConversationId) -> Result<bool, RunError>;

    /// The active run of the conversation, if any.
    async fn active(&self, conversation: ConversationId) -> Result<Option<RunId>, RunError>;

    /// The runs begun from now on by *any* instance sharing this registry, so an edge can
    /// forward a run begun elsewhere to its own listeners that were waiting in the
    /// conversation. `None` for a registry local to one process: the edge that begins a run
    /// reaches its listeners directly.
    async fn started(&self) -> Result<Option<BoxStream<'static, RunStarted>>, RunError> {
        Ok(None)
    }

    /// Whether the run's writer is still alive somewhere: false once the run ended, or when the
    /// process writing it is gone (a shared registry knows at once when an instance was killed).
    async fn is_alive(&self, conversation: ConversationId, run: RunId) -> Result<bool, RunError>;

    /// What the run streamed (its `assistant` chunks, joined) if the registry still holds its
    /// events; `None` for a run it does not know (a process-local registry after a restart).
    async fn streamed_text(&self, conversation: ConversationId, run: RunId) -> Result<Option<String>, RunError>;

    /// Ends a run whose writer died: listeners get `error` ([`super::INSTANCE_LOST`]) then
    /// `last_chunk`, once however many instances close it, and the conversation is free (if the
    /// run still held it). A no-op for a run that already ended.
    async fn close_dead(&self, conversation: ConversationId, run: RunId) -> Result<(), RunError>;
}

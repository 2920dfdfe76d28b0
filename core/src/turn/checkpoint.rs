//! Checkpoints of the answer while it streams: the text so far goes to the conversation's
//! draft ([`crate::store::DraftStore`]) at most every [`TurnSettings::checkpoint_every`], so a crash loses at
//! most that much of what the person saw. At most one write is in flight; chunks arriving
//! meanwhile are written by the next one. Finishing the draft is the one way the answer is
//! stored (see [`crate::store::DraftStore::finish_draft`]): stored once, by the turn or by whoever closes
//! its run as dead.
//!
//! [`TurnSettings::checkpoint_every`]: super::TurnSettings::checkpoint_every

use super::Timer;
use crate::store::DraftId;
use crate::{ConversationId, NewMessage, Store, StoreError, UserId};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) struct Checkpoints {
    store: Arc<dyn Store>,
    user: UserId,
    draft: DraftId,
    timer: Option<Arc<dyn Timer>>,
    every: Duration,
    /// Length of the text the last write carried (the text only grows).
    saved_len: usize,
    last_write: Option<Instant>,
    /// The pause before the next write, when one is due but too soon.
    wake: Option<BoxFuture<'static, ()>>,
    writing: Option<BoxFuture<'static, Result<(), StoreError>>>,
    gone: bool,
}

impl Checkpoints {
    /// Opens the conversation's draft for `run`.
    pub(super) async fn open(
        store: Arc<dyn Store>,
        timer: Option<Arc<dyn Timer>>,
        every: Duration,
        user: UserId,
        conversation: ConversationId,
        run: u64,
    ) -> Result<Self, StoreError> {
        let draft = store.open_draft(user, conversation, run).await?;
        Ok(Self {
            store,
            user,
            draft,
            timer,
            every,
            saved_len: 0,
            last_write: None,
            wake: None,
            writing: None,
            gone: false,
        })
    }

    /// The draft disappeared under the turn: its conversation was deleted, or another instance
    /// closed the run as dead. The turn should stop.
    pub(super) fn gone(&self) -> bool {
        self.gone
    }

    /// `text` grew: schedules a write unless one is already due.
    pub(super) fn changed(&mut self, text: &str) {
        if self.writing.is_none() && self.wake.is_none() {
            self.schedule(text);
        }
    }

    fn schedule(&mut self, text: &str) {
        if self.gone || text.len() == self.saved_len {
            return;
        }
        let wait = self
            .last_write
            .map_or(Duration::ZERO, |at| self.every.saturating_sub(at.elapsed()));
        match &self.timer {
            Some(timer) if !wait.is_zero() => self.wake = Some(timer.sleep(wait)),
            // Without a timer, writes are paced by the database alone.
            _ => self.write(text),
        }
    }

    fn write(&mut self, text: &str) {
        let content = crate::text::storable_form(text.to_owned());
        let (store, user, draft) = (self.store.clone(), self.user, self.draft);
        self.saved_len = text.len();
        self.last_write = Some(Instant::now());
        self.writing = Some(Box::pin(async move { store.save_draft(user, draft, &content).await }));
    }

    fn written(&mut self, result: Result<(), StoreError>) {
        match result {
            Ok(()) => {}
            Err(StoreError::NotFound) => self.gone = true,
            // The answer goes on; the next write carries this one's text too.
            Err(e) => {
                tracing::warn!(error = %e, "could not checkpoint the answer");
                self.saved_len = 0;
            }
        }
    }

    /// Drives the pending write or pause; never resolves while there is nothing to do. Safe to
    /// drop at any point (the step's `select` does): the work in progress stays here.
    pub(super) async fn progress(&mut self, text: &str) {
        if let Some(writing) = &mut self.writing {
            let result = writing.await;
            self.writing = None;
            self.written(result);
            self.schedule(text);
        } else if let Some(wake) = &mut self.wake {
            wake.await;
            self.wake = None;
            self.write(text);
        } else {
            futures::future::pending::<()>().await;
        }
    }

    /// Writes `text` now (before tools run: they may take a while).
    pub(super) async fn flush(&mut self, text: &str) {
        if let Some(writing) = self.writing.take() {
            let result = writing.await;
            self.written(result);
        }
        self.wake = None;
        if !self.gone && text.len() != self.saved_len {
            self.write(text);
            if let Some(writing) = self.writing.take() {
                let result = writing.await;
                self.written(result);
            }
        }
    }

    /// Stores the answer (or, with `None`, just removes the draft), once.
    pub(super) async fn finish(mut self, message: Option<NewMessage>) {
        if let Some(writing) = self.writing.take() {
            let _ = writing.await;
        }
        let message = message.map(|m| NewMessage {
            content: crate::text::storable_form(m.content),
            ..m
        });
        let kind = message.as_ref().map(|m| m.kind.as_str());
        match self.store.finish_draft(self.user, self.draft, message.as_ref()).await {
            Ok(_) => {}
            // The conversation was deleted meanwhile, or another instance closed this run as
            // dead and stored what it had: nothing to add.
            Err(StoreError::NotFound) => tracing::info!(draft = %self.draft, "the answer's draft is gone; not stored"),
            // The person saw the answer; it is only missing from the history.
            Err(e) => tracing::error!(error = %e, kind, "could not persist the answer"),
        }
    }
}

//! Closing runs whose writer died: a crash, `kill -9`, an instance gone. What the person saw
//! is in the run's draft (see [`super::checkpoint`]), or, in a shared registry, in the run's
//! log: it is stored once, marked [`LOST_MARK`], then the run is ended for its listeners and
//! its conversation freed. Whoever removes the draft stores it, so a turn finishing at the same
//! moment, or two instances closing the same run, never store it twice.
//!
//! Three ways in: [`recover`] (at start-up and now and then, over every draft), [`take_over`]
//! (a message finds its conversation held by a dead run: accepted at once, no lease wait), and
//! [`close_leftover`] (a run begins where a dead one left a draft).

use super::service::Deps;
use super::{RunError, RunId};
use crate::store::Draft;
use crate::{ConversationId, CoreError, MessageKind, NewMessage, StoreError, UserId};

/// Appended to an answer cut short because the server writing it stopped.
pub const LOST_MARK: &str = "\n\n[interrupted: the server stopped]";
/// The `error` listeners of such an answer get before `last_chunk`.
pub const INSTANCE_LOST: &str = "The server answering this message stopped; the answer is incomplete";

/// Most drafts one [`recover`] pass looks at (the next pass takes the rest).
const BATCH: u64 = 1000;

pub(super) async fn recover(d: &Deps) -> Result<usize, CoreError> {
    let drafts = d.store.all_drafts(BATCH).await.map_err(CoreError::Storage)?;
    let mut closed = 0;
    for draft in drafts {
        let (conversation, run) = (draft.conversation_id, RunId(draft.run));
        if d.runs.is_alive(conversation, run).await? {
            continue;
        }
        if close(d, draft, true).await? {
            closed += 1;
        }
    }
    if closed > 0 {
        tracing::warn!(closed, "closed answers whose server stopped");
    }
    Ok(closed)
}

/// The conversation is held by a run: free it if that run is dead, else `Conflict` (busy).
pub(super) async fn take_over(d: &Deps, user: UserId, conversation: ConversationId) -> Result<(), CoreError> {
    let Some(run) = d.runs.active(conversation).await? else {
        return Ok(()); // it ended meanwhile
    };
    if d.runs.is_alive(conversation, run).await? {
        return Err(RunError::Active.into());
    }
    tracing::warn!(conversation_id = %conversation, run = %run, "taking over a conversation whose answer's server stopped");
    match draft_of(d, user, conversation).await? {
        Some(draft) if draft.run == run.0 => {
            close(d, draft, true).await?;
        }
        // It died before its draft existed (or after storing its answer): only the run to end.
        _ => d.runs.close_dead(conversation, run).await?,
    }
    Ok(())
}

/// A run just began in the conversation: any draft there was left by a dead run.
pub(super) async fn close_leftover(
    d: &Deps,
    user: UserId,
    conversation: ConversationId,
    current: RunId,
) -> Result<(), CoreError> {
    if let Some(draft) = draft_of(d, user, conversation).await? {
        // A process-local registry numbers runs afresh after a restart: a leftover may carry
        // the new run's id, and only its draft is the dead one's.
        let other_run = draft.run != current.0;
        close(d, draft, other_run).await?;
    }
    Ok(())
}

async fn draft_of(d: &Deps, user: UserId, conversation: ConversationId) -> Result<Option<Draft>, CoreError> {
    d.store
        .conversation_draft(user, conversation)
        .await
        .map_err(CoreError::store("Conversation"))
}

/// Stores the draft's partial answer, then ends its run (`with_run`); false when someone else
/// stored it first.
async fn close(d: &Deps, draft: Draft, with_run: bool) -> Result<bool, CoreError> {
    let (conversation, run) = (draft.conversation_id, RunId(draft.run));
    let streamed = if with_run {
        d.runs.streamed_text(conversation, run).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not read a dead run's events; storing its last checkpoint");
            None
        })
    } else {
        None
    };
    // The registry's log has every chunk; the draft, all but the last moment.
    let text = match streamed {
        Some(t) if t.len() >= draft.content.len() => t,
        _ => draft.content,
    };
    let answer = (!text.trim().is_empty())
        .then(|| NewMessage::new(MessageKind::Ai, crate::text::storable_form(text + LOST_MARK)));
    match d.store.finish_draft(draft.user_id, draft.id, answer.as_ref()).await {
        Ok(stored) => tracing::info!(
            conversation_id = %conversation,
            run = %run,
            message_id = stored.map(|m| m.id.0),
            "stored the partial answer of a run whose server stopped"
        ),
        Err(StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(CoreError::Storage(e)),
    }
    if with_run {
        d.runs.close_dead(conversation, run).await?;
    }
    Ok(true)
}

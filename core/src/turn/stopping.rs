//! Stopping an answer before deleting what it depends on (its conversation, or a message of
//! it): the run is asked to stop and awaited, so the upstream request is cancelled, listeners
//! get `last_chunk` and nothing more streams once the delete returns.

use super::service::Deps;
use crate::{ConversationId, CoreError};
use futures::StreamExt;
use futures::future::{Either, select};

pub(super) async fn stop_and_wait(d: &Deps, conversation: ConversationId) -> Result<(), CoreError> {
    let Some(attachment) = d.runs.attach(conversation, 0).await? else {
        return Ok(());
    };
    if !attachment.active || !d.runs.request_stop(conversation).await? {
        return Ok(());
    }
    tracing::info!(conversation_id = %conversation, "stopping the answer before a delete");
    let ended = Box::pin(
        attachment
            .events
            .filter(|e| std::future::ready(e.event.is_last()))
            .into_future(),
    );
    match &d.timer {
        Some(timer) => {
            if let Either::Right(_) = select(ended, timer.sleep(d.settings.stop_wait)).await {
                tracing::warn!(conversation_id = %conversation, "the stopped answer did not end in time");
            }
        }
        None => {
            let _ = ended.await;
        }
    }
    Ok(())
}

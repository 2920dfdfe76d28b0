//! One streamed model call: text deltas go out as `assistant` events as they arrive; tool calls
//! are gathered; a stop request drops the stream, which cancels the upstream request.

use super::{RunWriter, TurnEvent};
use crate::model::{ChatEvent, ChatModel, ChatRequest, ModelError, ToolCall};
use futures::future::{Either, Shared, select};
use futures::{FutureExt, StreamExt, future::BoxFuture};

pub(super) type StopSignal = Shared<BoxFuture<'static, ()>>;

pub(super) enum Step {
    /// The model finished its answer.
    Answered,
    /// The model wants these tools run.
    ToolCalls(Vec<ToolCall>),
    Failed(ModelError),
    Stopped,
}

/// Publishes an event; a registry failure only costs listeners the event (the turn and its
/// persistence go on).
pub(super) async fn publish(writer: &dyn RunWriter, event: TurnEvent) {
    if let Err(e) = writer.publish(event).await {
        tracing::warn!(error = %e, "could not publish a run event");
    }
}

/// Streams one answer; the text it streamed is appended to `text` whatever the outcome.
pub(super) async fn stream(
    model: &dyn ChatModel,
    request: ChatRequest,
    writer: &dyn RunWriter,
    stop: &StopSignal,
    text: &mut String,
) -> Step {
    let mut events = match select(model.stream(request), stop.clone()).await {
        Either::Left((Ok(events), _)) => events,
        Either::Left((Err(e), _)) => return Step::Failed(e),
        Either::Right(_) => return Step::Stopped,
    };
    let mut calls = Vec::new();
    loop {
        let next = match select(events.next(), stop.clone()).await {
            Either::Left((next, _)) => next,
            Either::Right(_) => return Step::Stopped, // dropping `events` cancels the request
        };
        match next {
            None => return Step::Failed(ModelError::Truncated),
            Some(Err(e)) => return Step::Failed(e),
            Some(Ok(ChatEvent::TextDelta(delta))) if delta.is_empty() => {}
            Some(Ok(ChatEvent::TextDelta(delta))) => {
                text.push_str(&delta);
                publish(writer, TurnEvent::Assistant { content: delta }).await;
            }
            Some(Ok(ChatEvent::ToolCalls(c))) => calls.extend(c),
            Some(Ok(ChatEvent::Usage {
                prompt_tokens,
                completion_tokens,
            })) => {
                tracing::debug!(prompt_tokens, completion_tokens, "model usage");
            }
            Some(Ok(ChatEvent::Finished(reason))) => {
                tracing::debug!(?reason, "model finished");
                return if calls.is_empty() {
                    Step::Answered
                } else {
                    Step::ToolCalls(calls)
                };
            }
        }
    }
}

pub(super) fn stop_signal(writer: &dyn RunWriter) -> StopSignal {
    writer.stopped().shared()
}

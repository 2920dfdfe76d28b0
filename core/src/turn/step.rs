//! One streamed model call: text deltas go out as `assistant` events as they arrive (and into
//! the answer's checkpoints); tool calls are gathered; a stop request drops the stream, which
//! cancels the upstream request.

use super::checkpoint::Checkpoints;
use super::{RunWriter, TurnEvent};
use crate::model::{ChatEvent, ChatModel, ChatRequest, ChatStream, ModelError, ToolCall};
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

/// What the stream loop waits for next.
enum Next {
    Stop,
    Event(Option<Result<ChatEvent, ModelError>>),
    Checkpointed,
}

/// Sends the request: the provider's stream once it is open, or how the step ended instead.
pub(super) async fn open(model: &dyn ChatModel, request: ChatRequest, stop: &StopSignal) -> Result<ChatStream, Step> {
    match select(model.stream(request), stop.clone()).await {
        Either::Left((Ok(events), _)) => Ok(events),
        Either::Left((Err(e), _)) => Err(Step::Failed(e)),
        Either::Right(_) => Err(Step::Stopped),
    }
}

/// Streams one answer from the opened `events`; the text it streamed is appended to `text`
/// whatever the outcome.
pub(super) async fn stream(
    mut events: ChatStream,
    writer: &dyn RunWriter,
    stop: &StopSignal,
    text: &mut String,
    checkpoints: &mut Checkpoints,
    tokens: &mut (u32, u32),
) -> Step {
    let mut calls = Vec::new();
    loop {
        let next = {
            let progress = std::pin::pin!(checkpoints.progress(text));
            match select(stop.clone(), select(events.next(), progress)).await {
                Either::Left(_) => Next::Stop,
                Either::Right((Either::Left((event, _)), _)) => Next::Event(event),
                Either::Right((Either::Right(((), _)), _)) => Next::Checkpointed,
            }
        };
        let next = match next {
            // Dropping `events` cancels the request.
            Next::Stop => return Step::Stopped,
            // The draft went away: the conversation was deleted, or the run closed elsewhere.
            Next::Checkpointed if checkpoints.gone() => return Step::Stopped,
            Next::Checkpointed => continue,
            Next::Event(event) => event,
        };
        match next {
            None => return Step::Failed(ModelError::Truncated),
            Some(Err(e)) => return Step::Failed(e),
            Some(Ok(ChatEvent::TextDelta(delta))) if delta.is_empty() => {}
            Some(Ok(ChatEvent::TextDelta(delta))) => {
                text.push_str(&delta);
                publish(writer, TurnEvent::Assistant { content: delta }).await;
                checkpoints.changed(text);
            }
            Some(Ok(ChatEvent::ToolCalls(c))) => calls.extend(c),
            Some(Ok(ChatEvent::Usage {
                prompt_tokens,
                completion_tokens,
            })) => {
                tracing::debug!(prompt_tokens, completion_tokens, "model usage");
                tokens.0 = tokens.0.saturating_add(prompt_tokens);
                tokens.1 = tokens.1.saturating_add(completion_tokens);
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

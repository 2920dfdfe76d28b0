//! genai's stream events turned into the port's [`ChatEvent`]s, enforcing its contract: one
//! `Finished` at the end, or `Truncated` when the upstream stops before it.

use crate::config::Provider;
use crate::convert::from_genai_call;
use crate::errors::{Redactor, map_error};
use crate::timeouts::{Deadlines, until};
use futures::StreamExt;
use genai::chat::{ChatStream as GenaiStream, ChatStreamEvent, StopReason, StreamEnd};
use meai_core::model::{ChatEvent, ChatStream, FinishReason, ModelError};

/// A live upstream answer. Dropping it drops genai's stream and so closes the HTTP connection.
pub(crate) struct Upstream {
    inner: Option<GenaiStream>,
    provider: Provider,
    redactor: Redactor,
    /// Once the answer started: how long each next event may take.
    deadlines: Option<Deadlines>,
}

impl Upstream {
    pub(crate) fn new(inner: GenaiStream, provider: Provider, redactor: Redactor) -> Self {
        Self {
            inner: Some(inner),
            provider,
            redactor,
            deadlines: None,
        }
    }

    /// The events of the next upstream item that carries any (never an empty batch); `None`
    /// once the answer finished or failed.
    pub(crate) async fn next(&mut self) -> Option<Result<Vec<ChatEvent>, ModelError>> {
        loop {
            let next = self.inner.as_mut()?.next();
            let Some(item) = until(self.deadlines.and_then(|d| d.next_event()), next).await else {
                // Dropping the stream closes the connection.
                self.inner = None;
                tracing::warn!("the model stopped sending its answer");
                return Some(Err(ModelError::Timeout));
            };
            let result = match item {
                Some(Ok(ChatStreamEvent::Chunk(chunk))) if !chunk.content.is_empty() => {
                    return Some(Ok(vec![ChatEvent::TextDelta(chunk.content)]));
                }
                Some(Ok(ChatStreamEvent::End(end))) => finish(end, self.provider),
                // Tool calls are taken complete from `End`; the rest carries nothing for us.
                Some(Ok(_)) => continue,
                Some(Err(genai::Error::StreamParse { serde_error, .. })) => {
                    // genai skips the frame and goes on; so do we, but it is worth knowing.
                    tracing::warn!(error = %serde_error, "skipped a malformed frame of the model stream");
                    continue;
                }
                Some(Err(error)) => Err(map_error(error, &self.redactor)),
                None => Err(ModelError::Truncated),
            };
            self.inner = None;
            match &result {
                Ok(_) => tracing::debug!("model answer finished"),
                Err(error) => tracing::warn!(%error, "model stream failed"),
            }
            return Some(result);
        }
    }

    /// `first` (what was read while deciding whether to retry), then the rest of the answer,
    /// each event within `deadlines`.
    pub(crate) fn into_stream(mut self, first: Vec<ChatEvent>, deadlines: Deadlines) -> ChatStream {
        self.deadlines = Some(deadlines);
        let rest = futures::stream::unfold(self, |mut upstream| async move {
            upstream.next().await.map(|batch| (batch, upstream))
        })
        .flat_map(|batch| {
            futures::stream::iter(match batch {
                Ok(events) => events.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(error) => vec![Err(error)],
            })
        });
        futures::stream::iter(first.into_iter().map(Ok)).chain(rest).boxed()
    }
}

/// The closing events: the tool calls, the usage, and why the model stopped.
fn finish(end: StreamEnd, provider: Provider) -> Result<Vec<ChatEvent>, ModelError> {
    let mut calls: Vec<_> = end
        .captured_tool_calls()
        .unwrap_or_default()
        .into_iter()
        .map(from_genai_call)
        .collect();
    if matches!(end.captured_stop_reason, Some(StopReason::MaxTokens(_))) && !calls.is_empty() {
        // The limit cut the last call's arguments (genai passes them on as far as they got):
        // the answer ends at its length, and no half-written call is run.
        tracing::warn!(
            calls = calls.len(),
            "the output token limit cut tool calls; dropped them"
        );
        calls.clear();
    }
    let reason = match &end.captured_stop_reason {
        Some(reason) => finish_reason(reason, !calls.is_empty()),
        // Gemini has no end marker but `finishReason`: genai synthesises an `End` when the
        // connection closes, so an `End` without a reason is a cut-off answer.
        None if provider.spec().end_needs_stop_reason => return Err(ModelError::Truncated),
        // OpenAI's `[DONE]` or Anthropic's `message_stop` was seen: the answer is complete even
        // if no reason was named.
        None if calls.is_empty() => FinishReason::Stop,
        None => FinishReason::ToolCalls,
    };
    let mut events = Vec::with_capacity(3);
    if !calls.is_empty() {
        events.push(ChatEvent::ToolCalls(calls));
    }
    if let Some(usage) = &end.captured_usage
        && (usage.prompt_tokens.is_some() || usage.completion_tokens.is_some())
    {
        let count = |tokens: Option<i32>| tokens.unwrap_or(0).max(0) as u32;
        events.push(ChatEvent::Usage {
            prompt_tokens: count(usage.prompt_tokens),
            completion_tokens: count(usage.completion_tokens),
        });
    }
    events.push(ChatEvent::Finished(reason));
    Ok(events)
}

/// Gemini says `STOP` even when it calls tools, so the calls decide.
fn finish_reason(reason: &StopReason, has_calls: bool) -> FinishReason {
    if has_calls {
        return FinishReason::ToolCalls;
    }
    match reason {
        StopReason::Completed(_) | StopReason::StopSequence(_) => FinishReason::Stop,
        StopReason::MaxTokens(_) => FinishReason::Length,
        StopReason::ToolCall(raw) | StopReason::ContentFilter(raw) | StopReason::Other(raw) => {
            FinishReason::Other(raw.clone())
        }
    }
}

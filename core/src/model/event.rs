use super::{ModelError, ToolCall};

/// What a streaming chat call yields, in this order: text deltas, then at most one
/// [`ChatEvent::ToolCalls`], then usage when the provider reports it, then exactly one
/// [`ChatEvent::Finished`].
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// The next piece of the answer's text.
    TextDelta(String),
    /// Every tool call of this answer, complete (arguments parsed), once the model finished them.
    ToolCalls(Vec<ToolCall>),
    Usage {
        prompt_tokens: u32,
        completion_tokens: u32,
    },
    /// The answer is complete.
    Finished(FinishReason),
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural end of the answer.
    Stop,
    /// The model wants the tool calls it made executed, and their results sent back.
    ToolCalls,
    /// The output token limit cut the answer.
    Length,
    /// Anything else the provider reported (content filter, ...), as the provider named it.
    Other(String),
}

/// The answer of a chat call as it streams.
///
/// Contract every adapter keeps:
/// - a successful stream ends with exactly one [`ChatEvent::Finished`];
/// - a stream that loses its upstream before that yields `Err(ModelError::Truncated)`;
/// - after an `Err` item the stream ends;
/// - dropping the stream cancels the upstream request.
pub type ChatStream = futures::stream::BoxStream<'static, Result<ChatEvent, ModelError>>;

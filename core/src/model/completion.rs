use super::{ChatEvent, ChatStream, FinishReason, ModelError, ToolCall};
use futures::StreamExt;

/// A whole answer, gathered from a [`ChatStream`].
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub finish: FinishReason,
}

impl Completion {
    /// Reads `stream` to its [`ChatEvent::Finished`]; the first error, or an end without
    /// `Finished` ([`ModelError::Truncated`]), fails the whole answer.
    pub async fn collect(mut stream: ChatStream) -> Result<Self, ModelError> {
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        let (mut prompt, mut completion) = (0, 0);
        while let Some(event) = stream.next().await {
            match event? {
                ChatEvent::TextDelta(delta) => text.push_str(&delta),
                ChatEvent::ToolCalls(calls) => tool_calls.extend(calls),
                ChatEvent::Usage {
                    prompt_tokens,
                    completion_tokens,
                } => {
                    prompt += prompt_tokens;
                    completion += completion_tokens;
                }
                ChatEvent::Finished(finish) => {
                    return Ok(Self {
                        text,
                        tool_calls,
                        prompt_tokens: prompt,
                        completion_tokens: completion,
                        finish,
                    });
                }
            }
        }
        Err(ModelError::Truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stream_of;

    #[tokio::test]
    async fn gathers_text_calls_and_usage() {
        let call = ToolCall::new("c1", "search", serde_json::json!({"q": "x"}));
        let stream = stream_of(vec![
            Ok(ChatEvent::TextDelta("Hel".into())),
            Ok(ChatEvent::TextDelta("lo".into())),
            Ok(ChatEvent::ToolCalls(vec![call.clone()])),
            Ok(ChatEvent::Usage {
                prompt_tokens: 3,
                completion_tokens: 2,
            }),
            Ok(ChatEvent::Finished(FinishReason::ToolCalls)),
        ]);
        let done = Completion::collect(stream).await.unwrap();
        assert_eq!(done.text, "Hello");
        assert_eq!(done.tool_calls, vec![call]);
        assert_eq!((done.prompt_tokens, done.completion_tokens), (3, 2));
        assert_eq!(done.finish, FinishReason::ToolCalls);
    }

    #[tokio::test]
    async fn an_end_without_finished_is_truncation() {
        let stream = stream_of(vec![Ok(ChatEvent::TextDelta("Hel".into()))]);
        assert_eq!(Completion::collect(stream).await, Err(ModelError::Truncated));
    }
}

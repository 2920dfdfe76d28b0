use super::{ChatRequest, ChatStream, Completion, ModelChoice, ModelError};

/// A chat model that streams its answer and may call tools.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync + 'static {
    /// Starts one answer. Adapters retry transient failures (rate limits, 5xx, refused
    /// connections) before the first content arrives, so an `Err` here is final; once content
    /// was streamed, failures arrive as `Err` items of the stream and are not retried.
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ModelError>;

    /// The configured chat model (used when a request names none).
    fn model_name(&self) -> &str;

    /// Every chat model a request may name ([`ChatRequest::model`]), the configured one
    /// included. An adapter serving one model lists just that one.
    async fn models(&self) -> Vec<ModelChoice> {
        vec![ModelChoice::new(self.model_name(), "")]
    }

    /// The whole text of an answer, for background work such as summaries and titles.
    async fn complete_text(&self, request: ChatRequest) -> Result<String, ModelError> {
        let stream = self.stream(request).await?;
        Ok(Completion::collect(stream).await?.text)
    }
}

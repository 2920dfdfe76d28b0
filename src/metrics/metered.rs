//! Decorators that measure the core's ports from the outside, so the core needs no metrics
//! dependency: the chat model (tokens, failures), the tools (calls by toolkit and outcome) and
//! recall (latency).

use super::metrics;
use futures::StreamExt;
use meai_core::memory::Recalled;
use meai_core::model::{ChatEvent, ChatModel, ChatRequest, ChatStream, ModelChoice, ModelError, ToolCall, ToolSpec};
use meai_core::turn::{Recall, RecallError, Stage, StageTimes, ToolError, ToolExecutor};
use meai_core::{ConversationId, Message, UserId};
use std::sync::Arc;
use std::time::Instant;

/// Counts tokens the provider reports and model failures.
pub struct MeteredModel(pub Arc<dyn ChatModel>);

#[async_trait::async_trait]
impl ChatModel for MeteredModel {
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ModelError> {
        let stream = self.0.stream(request).await.inspect_err(|_| metrics().error("model"))?;
        Ok(stream
            .inspect(|event| match event {
                Ok(ChatEvent::Usage {
                    prompt_tokens,
                    completion_tokens,
                }) => {
                    let m = metrics();
                    m.model_tokens
                        .with_label_values(&["in"])
                        .inc_by(u64::from(*prompt_tokens));
                    m.model_tokens
                        .with_label_values(&["out"])
                        .inc_by(u64::from(*completion_tokens));
                }
                Err(_) => metrics().error("model"),
                Ok(_) => {}
            })
            .boxed())
    }

    fn model_name(&self) -> &str {
        self.0.model_name()
    }

    async fn models(&self) -> Vec<ModelChoice> {
        self.0.models().await
    }
}

/// The toolkit of a Composio tool slug: `GMAIL_SEND_EMAIL` -> `GMAIL`.
fn toolkit_of(tool: &str) -> &str {
    tool.split('_').next().filter(|s| !s.is_empty()).unwrap_or("unknown")
}

/// Counts tool calls by toolkit and outcome (`ok`, `failed`, `unknown`, `unavailable`).
pub struct MeteredTools(pub Arc<dyn ToolExecutor>);

#[async_trait::async_trait]
impl ToolExecutor for MeteredTools {
    async fn tools_for(&self, user: UserId) -> Result<Vec<ToolSpec>, ToolError> {
        self.0.tools_for(user).await
    }

    async fn tools_for_message(&self, user: UserId, message: &str) -> Result<Vec<ToolSpec>, ToolError> {
        self.0.tools_for_message(user, message).await
    }

    async fn available(&self, user: UserId) -> Result<Vec<ToolSpec>, ToolError> {
        self.0.available(user).await
    }

    async fn execute(&self, user: UserId, call: &ToolCall) -> Result<String, ToolError> {
        let result = self.0.execute(user, call).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(ToolError::Failed(_)) => "failed",
            Err(ToolError::Unknown(_)) => "unknown",
            Err(ToolError::Unavailable(_)) => "unavailable",
        };
        let m = metrics();
        // Tool names come from the model: only the toolkit prefix is a label, uppercased and
        // capped so a misbehaving model cannot create unbounded series.
        let toolkit: String = toolkit_of(&call.name)
            .chars()
            .take(32)
            .collect::<String>()
            .to_uppercase();
        m.tool_calls.with_label_values(&[toolkit.as_str(), outcome]).inc();
        if result.is_err() {
            m.error("tool");
        }
        result
    }
}

/// Keeps the turn's stage times in `meai_turn_stage_seconds`.
pub struct MeteredStages;

impl StageTimes for MeteredStages {
    fn record(&self, stage: Stage, took: std::time::Duration) {
        metrics()
            .turn_stage
            .with_label_values(&[stage.as_str()])
            .observe(took.as_secs_f64());
    }
}

/// Times semantic recall within turns.
pub struct MeteredRecall(pub Arc<dyn Recall>);

#[async_trait::async_trait]
impl Recall for MeteredRecall {
    async fn recall(
        &self,
        user: UserId,
        conversation: ConversationId,
        query: &str,
        limit: usize,
    ) -> Result<Recalled, RecallError> {
        let started = Instant::now();
        let result = self.0.recall(user, conversation, query, limit).await;
        let m = metrics();
        m.recall_latency.observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            m.error("recall");
        }
        result
    }

    async fn remember(&self, user: UserId, messages: &[Message]) {
        self.0.remember(user, messages).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn toolkit_is_the_slug_prefix() {
        assert_eq!(super::toolkit_of("GMAIL_SEND_EMAIL"), "GMAIL");
        assert_eq!(super::toolkit_of("weird"), "weird");
        assert_eq!(super::toolkit_of(""), "unknown");
    }
}

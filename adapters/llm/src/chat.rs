//! The [`ChatModel`] port on genai.

use crate::config::{LlmConfig, LlmConfigError};
use crate::convert;
use crate::errors::map_error;
use crate::events::Upstream;
use crate::listing::Listing;
use crate::retry::RetryPolicy;
use crate::target::Target;
use crate::timeouts::{AnswerTimeouts, Deadlines, until};
use genai::chat::{ChatOptions, ChatRequest as GenaiRequest};
use meai_core::model::{ChatEvent, ChatModel, ChatRequest, ChatStream, ModelChoice, ModelError};
use std::sync::Arc;
use tracing::Instrument;

/// A streaming chat model with tools, for OpenAI, Gemini, Anthropic and OpenAI-compatible servers.
///
/// Transient failures (429 with its `Retry-After`, 5xx, refused connections, stalls) are retried
/// with backoff until the first content of the answer arrives; after that an error is passed
/// on, since the user already saw part of the answer. An answer that takes longer than its
/// [`AnswerTimeouts`] fails with [`ModelError::Timeout`], its request dropped.
#[derive(Clone)]
pub struct GenaiChatModel {
    target: Target,
    model: String,
    /// Every configured model: `model`, then the more models of the configuration.
    models: Vec<String>,
    /// The provider's own list, when configured to offer it.
    listing: Option<Arc<Listing>>,
    options: ChatOptions,
    retry: RetryPolicy,
    timeouts: AnswerTimeouts,
}

impl GenaiChatModel {
    pub fn new(config: &LlmConfig) -> Result<Self, LlmConfigError> {
        let mut options = ChatOptions::default()
            .with_capture_usage(true)
            .with_capture_tool_calls(true)
            .with_stream_header_timeout(config.stream_read_timeout)
            .with_stream_read_timeout(config.stream_read_timeout);
        if let Some(max_tokens) = config.max_tokens {
            options = options.with_max_tokens(max_tokens);
        }
        let target = Target::new(config)?;
        let mut models = vec![config.chat_model.clone()];
        for m in &config.chat_models {
            if !m.trim().is_empty() && !models.contains(m) {
                models.push(m.clone());
            }
        }
        Ok(Self {
            listing: config.list_models.then(|| Arc::new(Listing::new(target.clone()))),
            target,
            model: config.chat_model.clone(),
            models,
            options,
            retry: RetryPolicy::default(),
            timeouts: config.answer_timeouts,
        })
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn provider(&self) -> crate::Provider {
        self.target.provider
    }

    /// Whether a request naming `model` is for this provider: a configured model, or one of
    /// the provider's list as last fetched.
    pub fn serves(&self, model: &str) -> bool {
        self.models.iter().any(|m| m == model) || self.listing.as_ref().is_some_and(|l| l.contains(model))
    }

    /// One request, read up to its first events: content, or the end of a content-less answer.
    async fn attempt(&self, model: &str, request: &GenaiRequest) -> Result<(Vec<ChatEvent>, Upstream), ModelError> {
        let response = self
            .target
            .client
            .exec_chat_stream(self.target.service(model), request.clone(), Some(&self.options))
            .await
            .map_err(|e| map_error(e, &self.target.redactor))?;
        let mut upstream = Upstream::new(response.stream, self.target.provider, self.target.redactor.clone());
        match upstream.next().await {
            Some(Ok(first)) => Ok((first, upstream)),
            Some(Err(error)) => Err(error),
            None => Err(ModelError::Truncated),
        }
    }
}

#[async_trait::async_trait]
impl ChatModel for GenaiChatModel {
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ModelError> {
        let model = request.model.clone().unwrap_or_else(|| self.model.clone());
        let span = tracing::info_span!("model_stream", provider = %self.target.provider, %model);
        async {
            let genai_request = convert::to_genai(&request, self.target.provider)?;
            let started = tokio::time::Instant::now();
            let deadlines = Deadlines::start(self.timeouts);
            let first = async {
                let mut failed = 0;
                loop {
                    let error = match self.attempt(&model, &genai_request).await {
                        Ok(first) => return Ok(first),
                        Err(error) => error,
                    };
                    failed += 1;
                    let Some(delay) = self.retry.delay_after(failed, &error) else {
                        tracing::warn!(%error, attempts = failed, "model request failed");
                        return Err(error);
                    };
                    tracing::warn!(%error, attempt = failed, delay_ms = delay.as_millis() as u64, "retrying model request");
                    tokio::time::sleep(delay).await;
                }
            };
            match until(deadlines.first_token(started), first).await {
                Some(Ok((first, upstream))) => Ok(upstream.into_stream(first, deadlines)),
                Some(Err(error)) => Err(error),
                None => {
                    tracing::warn!(
                        waited_ms = started.elapsed().as_millis() as u64,
                        "the model did not start its answer in time"
                    );
                    Err(ModelError::Timeout)
                }
            }
        }
        .instrument(span)
        .await
    }

    fn model_name(&self) -> &str {
        &self.model
    }

    /// The configured models, then those the provider lists (when configured to).
    async fn models(&self) -> Vec<ModelChoice> {
        let mut names = self.models.clone();
        if let Some(listing) = &self.listing {
            for name in listing.names().await {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let provider = self.target.provider.as_str();
        names.into_iter().map(|n| ModelChoice::new(n, provider)).collect()
    }
}

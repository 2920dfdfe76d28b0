//! The [`Embedder`] port on genai.

use crate::config::{LlmConfig, LlmConfigError};
use crate::errors::map_error;
use crate::retry::RetryPolicy;
use crate::target::Target;
use genai::embed::EmbedOptions;
use meai_core::model::{Embedder, ModelError};
use std::time::Duration;

/// A whole embedding request, retries apart, never takes longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Batch embeddings (`/embeddings` for OpenAI, `:batchEmbedContents` for Gemini), split into
/// requests the provider accepts and retried as a whole on transient failures.
#[derive(Clone)]
pub struct GenaiEmbedder {
    target: Target,
    model: String,
    model_id: String,
    options: EmbedOptions,
    retry: RetryPolicy,
    batch_size: usize,
}

impl GenaiEmbedder {
    /// [`LlmConfigError::NoEmbeddings`] for a provider without an embeddings API (Anthropic).
    pub fn new(config: &LlmConfig) -> Result<Self, LlmConfigError> {
        let Some((_, batch_size)) = config.provider.spec().embeddings else {
            return Err(LlmConfigError::NoEmbeddings(config.provider));
        };
        let mut options = EmbedOptions::new();
        let mut model_id = format!("{}/{}", config.provider, config.embedding_model);
        if let Some(dimensions) = config.embedding_dimensions {
            options = options.with_dimensions(dimensions);
            model_id.push_str(&format!("@{dimensions}"));
        }
        Ok(Self {
            target: Target::new(config)?,
            model: config.embedding_model.clone(),
            model_id,
            options,
            retry: RetryPolicy::default(),
            batch_size,
        })
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut failed = 0;
        loop {
            let call =
                self.target
                    .client
                    .embed_batch(self.target.service(&self.model), texts.to_vec(), Some(&self.options));
            let error = match tokio::time::timeout(REQUEST_TIMEOUT, call).await {
                Ok(Ok(response)) => {
                    let mut embeddings = response.embeddings;
                    embeddings.sort_by_key(|e| e.index);
                    if embeddings.len() == texts.len() {
                        return Ok(embeddings.into_iter().map(|e| e.vector).collect());
                    }
                    ModelError::Upstream {
                        status: None,
                        message: format!("{} embeddings for {} texts", embeddings.len(), texts.len()),
                    }
                }
                Ok(Err(error)) => map_error(error, &self.target.redactor),
                Err(_) => ModelError::Timeout,
            };
            failed += 1;
            let Some(delay) = self.retry.delay_after(failed, &error) else {
                tracing::warn!(%error, attempts = failed, model = %self.model, "embedding request failed");
                return Err(error);
            };
            tracing::warn!(%error, attempt = failed, delay_ms = delay.as_millis() as u64, "retrying embedding request");
            tokio::time::sleep(delay).await;
        }
    }
}

#[async_trait::async_trait]
impl Embedder for GenaiEmbedder {
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.batch_size) {
            vectors.extend(self.embed_batch(batch).await?);
        }
        Ok(vectors)
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }
}

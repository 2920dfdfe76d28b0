//! The assistant turn's configuration: the chat model chosen by `MODEL` and the provider keys,
//! and the turn's settings.

use crate::config::{Config, ConfigError};
use meai_core::model::ChatModel;
use meai_core::turn::TurnSettings;
use meai_llm::{AnswerTimeouts, GenaiChatModel, LlmConfig, LlmConfigError, Provider};
use std::sync::Arc;

/// The model settings, when a provider can be used: `MODEL` picks it (as in the original);
/// without `MODEL`, the provider whose key or base URL is set. `None` (with a warning) when
/// nothing is configured: the server runs and turns end with "no language model configured".
pub fn llm_config(config: &Config) -> Result<Option<LlmConfig>, ConfigError> {
    // In the order `MODEL` falls back on when unset: the first provider with a key or base URL.
    let providers = [
        (
            Provider::OpenAi,
            "OPENAI_API_KEY",
            &config.openai_api_key,
            &config.openai_base_url,
        ),
        (
            Provider::Gemini,
            "GOOGLE_API_KEY",
            &config.google_api_key,
            &config.gemini_base_url,
        ),
        (
            Provider::Anthropic,
            "ANTHROPIC_API_KEY",
            &config.anthropic_api_key,
            &config.anthropic_base_url,
        ),
    ];
    let chosen = match config.model {
        Some(choice) => providers.iter().find(|(p, ..)| *p == choice.provider()),
        None => providers.iter().find(|(_, _, key, url)| key.is_some() || url.is_some()),
    };
    let Some((provider, var, key, base_url)) = chosen else {
        return Ok(None);
    };
    let provider = *provider;
    if key.is_none() && base_url.is_none() {
        tracing::warn!("MODEL={provider} but {var} is not set: no language model configured");
        return Ok(None);
    }
    let mut llm = LlmConfig::new(provider);
    if let Some(key) = key {
        llm = llm.with_api_key(key.expose());
    }
    if let Some(url) = base_url {
        llm = llm.with_base_url(url);
    }
    if let Some(m) = &config.chat_model {
        llm = llm.with_chat_model(m);
    }
    if let Some(m) = &config.embedding_model {
        llm = llm.with_embedding_model(m);
    }
    let seconds = |s: u64| (s > 0).then(|| std::time::Duration::from_secs(s));
    llm = llm.with_answer_timeouts(AnswerTimeouts {
        first_token: seconds(config.model_first_token_timeout_seconds),
        between_chunks: seconds(config.model_chunk_timeout_seconds),
        total: seconds(config.model_answer_timeout_seconds),
    });
    Ok(Some(llm))
}

/// The chat model configuration names, if any.
pub fn chat_model(config: &Config) -> Result<Option<Arc<dyn ChatModel>>, ConfigError> {
    let Some(llm) = llm_config(config)? else {
        tracing::warn!(
            "no language model configured (set OPENAI_API_KEY, GOOGLE_API_KEY or ANTHROPIC_API_KEY): messages get an error"
        );
        return Ok(None);
    };
    let model =
        GenaiChatModel::new(&llm).map_err(|e: LlmConfigError| ConfigError::new(format!("language model: {e}")))?;
    tracing::info!(provider = %llm.provider, model = %llm.chat_model, custom_endpoint = llm.base_url.is_some(), "language model configured");
    Ok(Some(Arc::new(model)))
}

/// The turn's settings from configuration.
pub fn settings(config: &Config) -> TurnSettings {
    TurnSettings {
        max_message_chars: config.max_message_chars,
        ..TurnSettings::default()
    }
}

/// The turn's clock (checkpoint pacing, bounded waits): tokio's.
pub struct TokioTimer;

impl meai_core::turn::Timer for TokioTimer {
    fn sleep(&self, duration: std::time::Duration) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

//! The assistant turn's configuration: the chat model chosen by `MODEL` and the provider keys,
//! and the turn's settings.

use crate::config::{Config, ConfigError};
use meai_core::model::ChatModel;
use meai_core::turn::TurnSettings;
use meai_llm::{GenaiChatModel, LlmConfig, LlmConfigError, Provider};
use std::sync::Arc;

/// The model settings, when a provider can be used: `MODEL` picks it (as in the original);
/// without `MODEL`, the provider whose key or base URL is set. `None` (with a warning) when
/// nothing is configured: the server runs and turns end with "no language model configured".
pub fn llm_config(config: &Config) -> Result<Option<LlmConfig>, ConfigError> {
    let openai = (config.openai_api_key.as_ref(), config.openai_base_url.as_ref());
    let gemini = (config.google_api_key.as_ref(), config.gemini_base_url.as_ref());
    let provider = match config.model {
        Some(choice) => choice.provider(),
        None if openai.0.is_some() || openai.1.is_some() => Provider::OpenAi,
        None if gemini.0.is_some() || gemini.1.is_some() => Provider::Gemini,
        None => return Ok(None),
    };
    let (key, base_url) = match provider {
        Provider::OpenAi => openai,
        Provider::Gemini => gemini,
    };
    if key.is_none() && base_url.is_none() {
        let var = if provider == Provider::OpenAi {
            "OPENAI_API_KEY"
        } else {
            "GOOGLE_API_KEY"
        };
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
    Ok(Some(llm))
}

/// The chat model configuration names, if any.
pub fn chat_model(config: &Config) -> Result<Option<Arc<dyn ChatModel>>, ConfigError> {
    let Some(llm) = llm_config(config)? else {
        tracing::warn!(
            "no language model configured (set MODEL and OPENAI_API_KEY or GOOGLE_API_KEY): messages get an error"
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

//! The assistant turn's configuration: the chat models of every provider with a key (`MODEL`
//! picks the default one), and the turn's settings.

use crate::config::{Config, ConfigError, Secret};
use meai_core::model::ChatModel;
use meai_core::service::Price;
use meai_core::turn::TurnSettings;
use meai_llm::{AnswerTimeouts, GenaiChatModel, LlmConfig, LlmConfigError, ModelRouter, Provider};
use std::collections::HashMap;
use std::sync::Arc;

/// One provider's settings: its `MODEL` name comes from [`Provider`]; the variables holding its
/// key, base URL and more models are the row's. Adding a genai provider to the server is one
/// row here (and its entry in `meai_llm::Provider`).
struct ProviderRow<'a> {
    provider: Provider,
    key_var: &'static str,
    key: &'a Option<Secret>,
    base_url: &'a Option<String>,
    /// `*_MODELS`: more chat models of this provider, comma-separated.
    models: &'a Option<String>,
}

/// In the order `MODEL` falls back on when unset: the first provider with a key or base URL.
fn rows(config: &Config) -> [ProviderRow<'_>; 3] {
    [
        ProviderRow {
            provider: Provider::OpenAi,
            key_var: "OPENAI_API_KEY",
            key: &config.openai_api_key,
            base_url: &config.openai_base_url,
            models: &config.openai_models,
        },
        ProviderRow {
            provider: Provider::Gemini,
            key_var: "GOOGLE_API_KEY",
            key: &config.google_api_key,
            base_url: &config.gemini_base_url,
            models: &config.gemini_models,
        },
        ProviderRow {
            provider: Provider::Anthropic,
            key_var: "ANTHROPIC_API_KEY",
            key: &config.anthropic_api_key,
            base_url: &config.anthropic_base_url,
            models: &config.anthropic_models,
        },
    ]
}

impl ProviderRow<'_> {
    fn configured(&self) -> bool {
        self.key.is_some() || self.base_url.is_some()
    }

    fn more_models(&self) -> Vec<String> {
        self.models
            .iter()
            .flat_map(|list| list.split(','))
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The provider's settings. The default provider's chat model is `CHAT_MODEL` (else its
    /// built-in one) and its `*_MODELS` more; another provider's models are its `*_MODELS`
    /// (else its built-in model).
    fn llm(&self, config: &Config, default: bool) -> LlmConfig {
        let mut llm = LlmConfig::new(self.provider);
        if let Some(key) = self.key {
            llm = llm.with_api_key(key.expose());
        }
        if let Some(url) = self.base_url {
            llm = llm.with_base_url(url);
        }
        let mut more = self.more_models();
        if default {
            if let Some(m) = &config.chat_model {
                llm = llm.with_chat_model(m);
            }
            if let Some(m) = &config.embedding_model {
                llm = llm.with_embedding_model(m);
            }
        } else if !more.is_empty() {
            llm = llm.with_chat_model(more.remove(0));
        }
        let seconds = |s: u64| (s > 0).then(|| std::time::Duration::from_secs(s));
        llm.with_chat_models(more)
            .with_listed_models(config.list_provider_models)
            .with_answer_timeouts(AnswerTimeouts {
                first_token: seconds(config.model_first_token_timeout_seconds),
                between_chunks: seconds(config.model_chunk_timeout_seconds),
                total: seconds(config.model_answer_timeout_seconds),
            })
    }
}

/// The default provider's settings, when one can be used: `MODEL` picks it (as in the
/// original); without `MODEL`, the first provider whose key or base URL is set. `None` (with a
/// warning) when nothing is configured: the server runs and turns end with "no language model
/// configured".
pub fn llm_config(config: &Config) -> Result<Option<LlmConfig>, ConfigError> {
    Ok(llm_configs(config).into_iter().next())
}

/// Every provider that can be used, the default one first (see [`llm_config`]); empty when
/// the default provider is not configured.
pub fn llm_configs(config: &Config) -> Vec<LlmConfig> {
    let rows = rows(config);
    let chosen = match config.model {
        Some(choice) => rows.iter().position(|r| r.provider == choice.provider()),
        None => rows.iter().position(ProviderRow::configured),
    };
    let Some(chosen) = chosen else {
        return Vec::new();
    };
    let default = &rows[chosen];
    if !default.configured() {
        tracing::warn!(
            "MODEL={} but {} is not set: no language model configured",
            default.provider,
            default.key_var
        );
        return Vec::new();
    }
    let others = rows.iter().enumerate().filter(|(i, r)| *i != chosen && r.configured());
    std::iter::once(default.llm(config, true))
        .chain(others.map(|(_, r)| r.llm(config, false)))
        .collect()
}

/// The chat model over every configured provider (requests go to the provider of the model
/// they name), if any.
pub fn chat_model(config: &Config) -> Result<Option<Arc<dyn ChatModel>>, ConfigError> {
    let mut models = Vec::new();
    for llm in llm_configs(config) {
        let model = GenaiChatModel::new(&llm)
            .map_err(|e: LlmConfigError| ConfigError::new(format!("language model ({}): {e}", llm.provider)))?;
        tracing::info!(
            provider = %llm.provider,
            model = %llm.chat_model,
            more_models = llm.chat_models.len(),
            custom_endpoint = llm.base_url.is_some(),
            default = models.is_empty(),
            "language model configured"
        );
        models.push(model);
    }
    let mut models = models.into_iter();
    let Some(default) = models.next() else {
        tracing::warn!(
            "no language model configured (set OPENAI_API_KEY, GOOGLE_API_KEY or ANTHROPIC_API_KEY): messages get an error"
        );
        return Ok(None);
    };
    Ok(Some(Arc::new(ModelRouter::new(default, models))))
}

/// `MODEL_PRICES`: model -> price per million tokens; empty when unset.
pub fn prices(config: &Config) -> Result<HashMap<String, Price>, ConfigError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        prompt: f64,
        completion: f64,
    }
    let Some(raw) = &config.model_prices else {
        return Ok(HashMap::new());
    };
    let table: HashMap<String, Entry> = serde_json::from_str(raw).map_err(|e| {
        ConfigError::new(format!(
            "MODEL_PRICES must be JSON like {{\"gpt-4.1-mini\": {{\"prompt\": 0.4, \"completion\": 1.6}}}}: {e}"
        ))
    })?;
    table
        .into_iter()
        .map(|(model, e)| {
            match e.prompt >= 0.0 && e.completion >= 0.0 && e.prompt.is_finite() && e.completion.is_finite() {
                true => Ok((
                    model,
                    Price {
                        prompt: e.prompt,
                        completion: e.completion,
                    },
                )),
                false => Err(ConfigError::new(format!(
                    "MODEL_PRICES: the prices of {model:?} must be positive numbers"
                ))),
            }
        })
        .collect()
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

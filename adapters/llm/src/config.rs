//! What the adapter is built from: the provider, its credentials and endpoint, and the models.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How long a stream may stay silent (no bytes at all) before it fails with a timeout.
pub const DEFAULT_STREAM_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The model provider, as the `MODEL` setting names it (`openai` | `gemini`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// OpenAI, or any server speaking the OpenAI Chat Completions API (Ollama, vLLM, ...).
    OpenAi,
    /// Google Gemini (Generative Language API).
    Gemini,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Gemini => "gemini",
        }
    }

    /// The original backend's chat model for this provider.
    pub fn default_chat_model(self) -> &'static str {
        match self {
            Self::OpenAi => "gpt-4.1-mini",
            Self::Gemini => "gemini-2.0-flash",
        }
    }

    pub fn default_embedding_model(self) -> &'static str {
        match self {
            Self::OpenAi => "text-embedding-3-small",
            Self::Gemini => "gemini-embedding-001",
        }
    }

    /// The public API, with the trailing `/` genai joins paths onto.
    pub(crate) fn public_base_url(self) -> &'static str {
        match self {
            Self::OpenAi => "https://api.openai.com/v1/",
            Self::Gemini => "https://generativelanguage.googleapis.com/v1beta/",
        }
    }

    /// The cargo feature that compiles this provider in.
    pub fn feature(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = LlmConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Ok(Self::OpenAi),
            "gemini" | "google" => Ok(Self::Gemini),
            _ => Err(LlmConfigError::UnknownProvider(s.to_owned())),
        }
    }
}

/// Everything needed to build a [`crate::GenaiChatModel`] and a [`crate::GenaiEmbedder`].
/// Its `Debug` never shows the API key.
#[derive(Clone, PartialEq, Eq)]
pub struct LlmConfig {
    pub provider: Provider,
    /// Required for the public APIs; optional for a custom `base_url` (keyless local servers).
    pub api_key: Option<String>,
    /// An OpenAI-compatible (or Gemini-compatible) server instead of the public API, including
    /// its version path, e.g. `http://localhost:11434/v1` for Ollama.
    pub base_url: Option<String>,
    pub chat_model: String,
    pub embedding_model: String,
    /// Asks the provider for vectors of this size (`None`: the model's default).
    pub embedding_dimensions: Option<usize>,
    pub stream_read_timeout: Duration,
}

impl LlmConfig {
    /// The provider's public API and the original backend's default models.
    pub fn new(provider: Provider) -> Self {
        Self {
            provider,
            api_key: None,
            base_url: None,
            chat_model: provider.default_chat_model().to_owned(),
            embedding_model: provider.default_embedding_model().to_owned(),
            embedding_dimensions: None,
            stream_read_timeout: DEFAULT_STREAM_READ_TIMEOUT,
        }
    }

    pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    pub fn with_chat_model(mut self, model: impl Into<String>) -> Self {
        self.chat_model = model.into();
        self
    }

    pub fn with_embedding_model(mut self, model: impl Into<String>) -> Self {
        self.embedding_model = model.into();
        self
    }

    pub fn with_embedding_dimensions(mut self, dimensions: usize) -> Self {
        self.embedding_dimensions = Some(dimensions);
        self
    }

    pub fn with_stream_read_timeout(mut self, timeout: Duration) -> Self {
        self.stream_read_timeout = timeout;
        self
    }
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("provider", &self.provider)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("chat_model", &self.chat_model)
            .field("embedding_model", &self.embedding_model)
            .field("embedding_dimensions", &self.embedding_dimensions)
            .field("stream_read_timeout", &self.stream_read_timeout)
            .finish()
    }
}

/// Why an adapter could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmConfigError {
    #[error("unknown model provider {0:?} (expected \"openai\" or \"gemini\")")]
    UnknownProvider(String),
    #[error("the {0} model provider is not compiled into this build (enable the `{feature}` cargo feature)", feature = .0.feature())]
    NotCompiled(Provider),
    #[error("an API key is required for the public {0} API")]
    MissingApiKey(Provider),
    #[error("invalid model base URL {0:?}: expected an http:// or https:// URL")]
    InvalidBaseUrl(String),
    #[error("could not build the HTTP client: {0}")]
    Client(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_api_key() {
        let config = LlmConfig::new(Provider::OpenAi).with_api_key("sk-very-secret");
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn defaults_are_the_original_models() {
        let openai = LlmConfig::new(Provider::OpenAi);
        assert_eq!(
            (openai.chat_model.as_str(), openai.embedding_model.as_str()),
            ("gpt-4.1-mini", "text-embedding-3-small")
        );
        let gemini = LlmConfig::new(Provider::Gemini);
        assert_eq!(
            (gemini.chat_model.as_str(), gemini.embedding_model.as_str()),
            ("gemini-2.0-flash", "gemini-embedding-001")
        );
    }

    #[test]
    fn provider_parses_the_model_setting() {
        assert_eq!("OpenAI".parse::<Provider>(), Ok(Provider::OpenAi));
        assert_eq!("gemini".parse::<Provider>(), Ok(Provider::Gemini));
        assert!(matches!(
            "claude".parse::<Provider>(),
            Err(LlmConfigError::UnknownProvider(_))
        ));
    }
}

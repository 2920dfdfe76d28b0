//! What the adapter is built from: the provider, its credentials and endpoint, and the models.

use genai::adapter::AdapterKind;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// `max_tokens` for Anthropic unless configured: see [`Provider::default_max_tokens`].
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u32 = 4096;

/// How long a stream may stay silent (no bytes at all) before it fails with a timeout.
pub const DEFAULT_STREAM_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The model provider, as the `MODEL` setting names it (`openai` | `gemini` | `anthropic`).
///
/// Everything provider-specific lives in one table entry (`Provider::spec`). Another provider
/// genai has an adapter for (Mistral, Groq, DeepSeek, xAI, ...) is one such entry away:
/// 1. a variant here, listed in [`Provider::ALL`];
/// 2. its entry in `spec`: the `MODEL` name and aliases, the genai `AdapterKind` (always named
///    explicitly, see `Target::service`), the public base URL with its trailing `/`, the
///    default chat model, the embedding model if the provider has an embeddings API, a
///    `max_tokens` default if the API requires one, the tool schema dialect, and whether genai
///    reports an end of stream the provider never sent;
/// 3. a cargo feature of the same name in `Cargo.toml` (here and in the server's).
///
/// A wire-level fake in `meai-testkit` then lets the provider-parametric tests of
/// `tests/chat.rs` run against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// OpenAI, or any server speaking the OpenAI Chat Completions API (Ollama, vLLM, ...).
    OpenAi,
    /// Google Gemini (Generative Language API).
    Gemini,
    /// Anthropic Claude (Messages API). It has no embeddings API.
    Anthropic,
}

/// How a provider wants tool parameter schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolSchema {
    /// JSON Schema as toolkits write it, with an object at the root.
    JsonSchema,
    /// The OpenAPI-like subset Gemini accepts ([`crate::sanitize_for_gemini`]).
    GeminiSubset,
}

/// What the adapter needs to know about one provider.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProviderSpec {
    /// The `MODEL` value, the cargo feature, and the prefix of embedder model ids.
    pub(crate) name: &'static str,
    pub(crate) aliases: &'static [&'static str],
    pub(crate) adapter: AdapterKind,
    pub(crate) compiled: bool,
    /// The public API, with the trailing `/` genai joins paths onto.
    pub(crate) public_base_url: &'static str,
    pub(crate) chat_model: &'static str,
    /// The default embedding model and the most texts one request may hold; `None` when the
    /// provider has no embeddings API.
    pub(crate) embeddings: Option<(&'static str, usize)>,
    /// Sent as `max_tokens` unless configured otherwise; `None` leaves it to the provider.
    pub(crate) max_tokens: Option<u32>,
    pub(crate) tool_schema: ToolSchema,
    /// genai synthesises a stream `End` when the connection closes (Gemini has no end marker),
    /// so only a stop reason proves the answer complete.
    pub(crate) end_needs_stop_reason: bool,
}

impl Provider {
    /// Every provider, compiled in or not.
    pub const ALL: [Provider; 3] = [Self::OpenAi, Self::Gemini, Self::Anthropic];

    pub(crate) const fn spec(self) -> ProviderSpec {
        match self {
            Self::OpenAi => ProviderSpec {
                name: "openai",
                aliases: &[],
                adapter: AdapterKind::OpenAI,
                compiled: cfg!(feature = "openai"),
                public_base_url: "https://api.openai.com/v1/",
                chat_model: "gpt-4.1-mini",
                // OpenAI takes 2048 inputs per request; smaller requests retry cheaper.
                embeddings: Some(("text-embedding-3-small", 512)),
                max_tokens: None,
                tool_schema: ToolSchema::JsonSchema,
                end_needs_stop_reason: false,
            },
            Self::Gemini => ProviderSpec {
                name: "gemini",
                aliases: &["google"],
                adapter: AdapterKind::Gemini,
                compiled: cfg!(feature = "gemini"),
                public_base_url: "https://generativelanguage.googleapis.com/v1beta/",
                chat_model: "gemini-2.0-flash",
                embeddings: Some(("gemini-embedding-001", 100)),
                max_tokens: None,
                tool_schema: ToolSchema::GeminiSubset,
                end_needs_stop_reason: true,
            },
            Self::Anthropic => ProviderSpec {
                name: "anthropic",
                aliases: &["claude"],
                adapter: AdapterKind::Anthropic,
                compiled: cfg!(feature = "anthropic"),
                public_base_url: "https://api.anthropic.com/v1/",
                chat_model: "claude-sonnet-4-5",
                embeddings: None,
                // The Messages API requires it. genai would send the model's maximum (64K for
                // Sonnet 4.5); 4096 is valid for every Claude model, including ones a request
                // names (summaries, titles), and plenty for a chat turn.
                max_tokens: Some(DEFAULT_ANTHROPIC_MAX_TOKENS),
                tool_schema: ToolSchema::JsonSchema,
                end_needs_stop_reason: false,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The default chat model for this provider (the original backend's, for OpenAI and Gemini).
    pub fn default_chat_model(self) -> &'static str {
        self.spec().chat_model
    }

    /// `None` when the provider has no embeddings API (Anthropic).
    pub fn default_embedding_model(self) -> Option<&'static str> {
        self.spec().embeddings.map(|(model, _)| model)
    }

    /// The `max_tokens` sent with every chat request unless configured otherwise.
    pub fn default_max_tokens(self) -> Option<u32> {
        self.spec().max_tokens
    }

    /// The public API, with the trailing `/` genai joins paths onto.
    pub(crate) fn public_base_url(self) -> &'static str {
        self.spec().public_base_url
    }

    /// The cargo feature that compiles this provider in.
    pub fn feature(self) -> &'static str {
        self.as_str()
    }

    /// `"openai", "gemini", ...`: for messages that list the choices.
    fn names() -> String {
        Self::ALL.map(|p| format!("{:?}", p.as_str())).join(", ")
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
        let name = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == name || p.spec().aliases.contains(&name.as_str()))
            .ok_or_else(|| LlmConfigError::UnknownProvider(s.to_owned()))
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
    /// More chat models of this provider a request (a conversation) may name, besides
    /// `chat_model`.
    pub chat_models: Vec<String>,
    /// Also offer the models the provider lists (`GET {base_url}models`), cached.
    pub list_models: bool,
    pub embedding_model: String,
    /// Asks the provider for vectors of this size (`None`: the model's default).
    pub embedding_dimensions: Option<usize>,
    /// The most tokens an answer may have (`None`: the provider's limit). Anthropic requires
    /// one, so it defaults to [`Provider::default_max_tokens`].
    pub max_tokens: Option<u32>,
    pub stream_read_timeout: Duration,
    /// How long an answer may take (first token, gap between chunks, total).
    pub answer_timeouts: crate::AnswerTimeouts,
}

impl LlmConfig {
    /// The provider's public API and the original backend's default models.
    pub fn new(provider: Provider) -> Self {
        Self {
            provider,
            api_key: None,
            base_url: None,
            chat_model: provider.default_chat_model().to_owned(),
            chat_models: Vec::new(),
            list_models: false,
            embedding_model: provider.default_embedding_model().unwrap_or_default().to_owned(),
            embedding_dimensions: None,
            max_tokens: provider.default_max_tokens(),
            stream_read_timeout: DEFAULT_STREAM_READ_TIMEOUT,
            answer_timeouts: crate::AnswerTimeouts::default(),
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

    /// More chat models a request may name (see [`LlmConfig::chat_models`]).
    pub fn with_chat_models(mut self, models: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.chat_models = models.into_iter().map(Into::into).collect();
        self
    }

    /// Also offers the models the provider lists.
    pub fn with_listed_models(mut self, list: bool) -> Self {
        self.list_models = list;
        self
    }

    pub fn with_embedding_dimensions(mut self, dimensions: usize) -> Self {
        self.embedding_dimensions = Some(dimensions);
        self
    }

    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    pub fn with_stream_read_timeout(mut self, timeout: Duration) -> Self {
        self.stream_read_timeout = timeout;
        self
    }

    pub fn with_answer_timeouts(mut self, timeouts: crate::AnswerTimeouts) -> Self {
        self.answer_timeouts = timeouts;
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
            .field("chat_models", &self.chat_models)
            .field("list_models", &self.list_models)
            .field("embedding_model", &self.embedding_model)
            .field("embedding_dimensions", &self.embedding_dimensions)
            .field("max_tokens", &self.max_tokens)
            .field("stream_read_timeout", &self.stream_read_timeout)
            .field("answer_timeouts", &self.answer_timeouts)
            .finish()
    }
}

/// Why an adapter could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmConfigError {
    #[error("unknown model provider {0:?} (expected one of {names})", names = Provider::names())]
    UnknownProvider(String),
    #[error("the {0} model provider is not compiled into this build (enable the `{feature}` cargo feature)", feature = .0.feature())]
    NotCompiled(Provider),
    #[error("an API key is required for the public {0} API")]
    MissingApiKey(Provider),
    #[error("invalid model base URL {0:?}: expected an http:// or https:// URL")]
    InvalidBaseUrl(String),
    /// The server falls back to another embedder on this one.
    #[error("the {0} API has no embedding models: memory needs another embedder")]
    NoEmbeddings(Provider),
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
        assert_eq!((openai.max_tokens, gemini.max_tokens), (None, None));
        let anthropic = LlmConfig::new(Provider::Anthropic);
        assert_eq!(anthropic.chat_model, "claude-sonnet-4-5");
        assert_eq!(anthropic.max_tokens, Some(4096));
        assert_eq!(Provider::Anthropic.default_embedding_model(), None);
    }

    #[test]
    fn provider_parses_the_model_setting() {
        assert_eq!("OpenAI".parse::<Provider>(), Ok(Provider::OpenAi));
        assert_eq!("gemini".parse::<Provider>(), Ok(Provider::Gemini));
        assert_eq!(" Claude ".parse::<Provider>(), Ok(Provider::Anthropic));
        assert_eq!("anthropic".parse::<Provider>(), Ok(Provider::Anthropic));
        let unknown = "mistral".parse::<Provider>().unwrap_err();
        assert_eq!(
            unknown.to_string(),
            r#"unknown model provider "mistral" (expected one of "openai", "gemini", "anthropic")"#
        );
    }

    /// What adding a provider takes is its table entry: this checks each entry is complete and
    /// consistent with the genai adapter it names.
    #[test]
    fn every_provider_entry_is_complete() {
        for provider in Provider::ALL {
            let spec = provider.spec();
            assert_eq!(spec.name.parse::<Provider>(), Ok(provider));
            for alias in spec.aliases {
                assert_eq!(alias.parse::<Provider>(), Ok(provider));
            }
            // The `MODEL` name is genai's own name for the adapter.
            assert_eq!(spec.adapter.as_lower_str(), spec.name);
            assert!(spec.public_base_url.starts_with("https://") && spec.public_base_url.ends_with('/'));
            assert!(!spec.chat_model.is_empty());
            assert!(
                spec.embeddings
                    .is_none_or(|(model, batch)| !model.is_empty() && batch > 0)
            );
            assert_eq!(provider.feature(), spec.name);
        }
    }
}

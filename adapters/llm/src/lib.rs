//! meAI's model adapters on [genai](https://docs.rs/genai): [`GenaiChatModel`] (the
//! [`meai_core::model::ChatModel`] port) and [`GenaiEmbedder`] (the
//! [`meai_core::model::Embedder`] port), for OpenAI (cargo feature `openai`), Gemini (`gemini`),
//! Anthropic (`anthropic`, chat only) and OpenAI-compatible servers such as Ollama or vLLM
//! (`openai` with a custom base URL). [`ModelRouter`] serves several providers at once, each
//! request going to the provider of the model it names. [`Provider`] says how another genai
//! provider is added.
//!
//! ```no_run
//! # fn demo() -> Result<(), meai_llm::LlmConfigError> {
//! use meai_llm::{GenaiChatModel, GenaiEmbedder, LlmConfig, Provider};
//! let config = LlmConfig::new(Provider::OpenAi)
//!     .with_base_url("http://localhost:11434/v1")
//!     .with_chat_model("qwen2.5:7b");
//! let chat = GenaiChatModel::new(&config)?;
//! let embedder = GenaiEmbedder::new(&config.clone().with_embedding_model("nomic-embed-text"))?;
//! # Ok(()) }
//! ```

mod chat;
mod config;
mod convert;
mod embed;
mod errors;
mod events;
mod lexical;
mod listing;
mod retry;
mod router;
mod schema;
mod target;
mod timeouts;

pub use chat::GenaiChatModel;
pub use config::{DEFAULT_ANTHROPIC_MAX_TOKENS, DEFAULT_STREAM_READ_TIMEOUT, LlmConfig, LlmConfigError, Provider};
pub use embed::GenaiEmbedder;
pub use lexical::{DEFAULT_LEXICAL_DIMENSIONS, LexicalEmbedder};
pub use retry::RetryPolicy;
pub use router::ModelRouter;
pub use schema::sanitize_for_gemini;
pub use timeouts::AnswerTimeouts;

//! Shared set-up: a fake provider on 127.0.0.1 and an adapter configured against it. Nothing
//! here can reach the internet: every config carries the fake's base URL.

#![allow(dead_code, unused_macros)]

use futures::StreamExt;
use meai_core::model::{ChatEvent, ChatStream, ModelError};
use meai_llm::{GenaiChatModel, GenaiEmbedder, LlmConfig, Provider, RetryPolicy};
use meai_testkit::anthropic::FakeAnthropic;
use meai_testkit::gemini::FakeGemini;
use meai_testkit::openai::{FakeBackend, FakeOpenAi};
use std::ops::Deref;
use std::time::Duration;

pub const API_KEY: &str = "test-key-0123456789";

/// The fake of a provider, scripted and inspected through the shared [`FakeBackend`].
pub enum Fake {
    OpenAi(FakeOpenAi),
    Gemini(FakeGemini),
    Anthropic(FakeAnthropic),
}

impl Fake {
    pub async fn start(provider: Provider) -> Self {
        match provider {
            Provider::OpenAi => Self::OpenAi(FakeOpenAi::start().await),
            Provider::Gemini => Self::Gemini(FakeGemini::start().await),
            Provider::Anthropic => Self::Anthropic(FakeAnthropic::start().await),
        }
    }

    pub fn base_url(&self) -> String {
        match self {
            Self::OpenAi(fake) => fake.base_url(),
            Self::Gemini(fake) => fake.base_url(),
            Self::Anthropic(fake) => fake.base_url(),
        }
    }

    /// The provider's default models, aimed at this fake.
    pub fn config(&self, provider: Provider) -> LlmConfig {
        LlmConfig::new(provider)
            .with_api_key(API_KEY)
            .with_base_url(self.base_url())
            .with_stream_read_timeout(Duration::from_secs(5))
    }
}

impl Deref for Fake {
    type Target = FakeBackend;

    fn deref(&self) -> &FakeBackend {
        match self {
            Self::OpenAi(fake) => fake,
            Self::Gemini(fake) => fake,
            Self::Anthropic(fake) => fake,
        }
    }
}

/// The default three attempts, with short waits so tests stay fast (a `Retry-After` of a
/// second or two is still honoured).
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
    }
}

pub fn chat_model(config: &LlmConfig) -> GenaiChatModel {
    GenaiChatModel::new(config)
        .expect("chat model")
        .with_retry_policy(quick_retries())
}

pub fn embedder(config: &LlmConfig) -> GenaiEmbedder {
    GenaiEmbedder::new(config)
        .expect("embedder")
        .with_retry_policy(quick_retries())
}

/// Everything the stream yields, to its end.
pub async fn drain(mut stream: ChatStream) -> Vec<Result<ChatEvent, ModelError>> {
    let mut items = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("stream stuck")
    {
        items.push(item);
    }
    items
}

pub fn text(delta: &str) -> Result<ChatEvent, ModelError> {
    Ok(ChatEvent::TextDelta(delta.to_owned()))
}

/// Runs each `async fn(Provider)` test for one provider, in a module named after it, when its
/// cargo feature is on.
macro_rules! provider_tests {
    ($module:ident, $feature:literal, $provider:ident, [$($test:ident),*]) => {
        #[cfg(feature = $feature)]
        mod $module {
            $(#[tokio::test]
            async fn $test() {
                super::$test(meai_llm::Provider::$provider).await
            })*
        }
    };
}

/// Each test for every provider.
macro_rules! for_all_providers {
    ($($test:ident),* $(,)?) => {
        provider_tests!(openai, "openai", OpenAi, [$($test),*]);
        provider_tests!(gemini, "gemini", Gemini, [$($test),*]);
        provider_tests!(anthropic, "anthropic", Anthropic, [$($test),*]);
    };
}

/// Each test for the providers with an embeddings API.
macro_rules! for_embedding_providers {
    ($($test:ident),* $(,)?) => {
        provider_tests!(openai, "openai", OpenAi, [$($test),*]);
        provider_tests!(gemini, "gemini", Gemini, [$($test),*]);
    };
}

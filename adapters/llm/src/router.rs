//! Several providers at once: each request goes to the provider serving the model it names.

use crate::chat::GenaiChatModel;
use meai_core::model::{ChatModel, ChatRequest, ChatStream, ModelChoice, ModelError};

/// The [`ChatModel`] port over every configured provider ([`GenaiChatModel`] each). A request
/// naming a model goes to the first provider that [serves](GenaiChatModel::serves) it; a
/// request naming none, or a model no provider lists (say, a `SUMMARY_MODEL` of the default
/// provider), goes to the default provider, the first one.
pub struct ModelRouter {
    /// Never empty; the first is the default.
    routes: Vec<GenaiChatModel>,
}

impl ModelRouter {
    /// `default` answers requests that name no model; `others` serve the models they list.
    pub fn new(default: GenaiChatModel, others: impl IntoIterator<Item = GenaiChatModel>) -> Self {
        let mut routes = vec![default];
        routes.extend(others);
        Self { routes }
    }

    /// The provider a request for `model` goes to.
    pub fn route(&self, model: Option<&str>) -> &GenaiChatModel {
        model
            .and_then(|m| self.routes.iter().find(|r| r.serves(m)))
            .unwrap_or(&self.routes[0])
    }
}

#[async_trait::async_trait]
impl ChatModel for ModelRouter {
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ModelError> {
        self.route(request.model.as_deref()).stream(request).await
    }

    fn model_name(&self) -> &str {
        self.routes[0].model_name()
    }

    /// Every provider's models, the default provider's first; a name two providers list is
    /// the first one's (as requests for it are routed).
    async fn models(&self) -> Vec<ModelChoice> {
        let lists = futures::future::join_all(self.routes.iter().map(|r| r.models())).await;
        let mut all: Vec<ModelChoice> = Vec::new();
        for choice in lists.into_iter().flatten() {
            if !all.iter().any(|c| c.id == choice.id) {
                all.push(choice);
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LlmConfig, Provider};

    fn model(provider: Provider, more: &[&str]) -> GenaiChatModel {
        let config = LlmConfig::new(provider)
            .with_api_key("k-test-key")
            .with_chat_models(more.iter().copied());
        GenaiChatModel::new(&config).unwrap()
    }

    /// Any provider genai has an adapter for is one entry of `Provider::spec` away: given
    /// that entry, its models are listed and requests for them routed to it.
    #[cfg(all(feature = "openai", feature = "gemini", feature = "anthropic"))]
    #[tokio::test]
    async fn every_provider_serves_its_models_and_the_default_the_rest() {
        let router = ModelRouter::new(
            model(Provider::OpenAi, &["gpt-4.1"]),
            [
                model(Provider::Gemini, &[]),
                model(Provider::Anthropic, &["claude-opus-4-1"]),
            ],
        );
        for provider in Provider::ALL {
            assert_eq!(router.route(Some(provider.default_chat_model())).provider(), provider);
        }
        assert_eq!(router.route(Some("claude-opus-4-1")).provider(), Provider::Anthropic);
        assert_eq!(router.route(Some("gpt-4.1")).provider(), Provider::OpenAi);
        assert_eq!(router.route(None).provider(), Provider::OpenAi);
        assert_eq!(router.route(Some("not-listed")).provider(), Provider::OpenAi);
        assert_eq!(router.model_name(), "gpt-4.1-mini");
        let listed: Vec<(String, String)> = router.models().await.into_iter().map(|c| (c.id, c.provider)).collect();
        let pairs = [
            ("gpt-4.1-mini", "openai"),
            ("gpt-4.1", "openai"),
            ("gemini-2.0-flash", "gemini"),
            ("claude-sonnet-4-5", "anthropic"),
            ("claude-opus-4-1", "anthropic"),
        ];
        assert_eq!(listed, pairs.map(|(m, p)| (m.to_owned(), p.to_owned())).to_vec());
    }
}

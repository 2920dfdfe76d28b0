//! The models a chat adapter offers and where requests for them go: configured lists, the
//! provider's own list (cached, failures tolerated), and the router over several providers.
#![cfg(all(feature = "openai", feature = "anthropic"))]

use meai_core::model::{ChatMessage, ChatModel, ChatRequest};
use meai_llm::{GenaiChatModel, LlmConfig, ModelRouter, Provider};
use meai_testkit::anthropic::FakeAnthropic;
use meai_testkit::openai::{FakeOpenAi, Reply};

fn ids(list: Vec<meai_core::model::ModelChoice>) -> Vec<String> {
    list.into_iter().map(|c| c.id).collect()
}

fn openai(fake: &FakeOpenAi, list: bool) -> GenaiChatModel {
    let config = LlmConfig::new(Provider::OpenAi)
        .with_api_key("sk-test-key")
        .with_base_url(fake.base_url())
        .with_chat_model("local-small")
        .with_chat_models(["local-large"])
        .with_listed_models(list);
    GenaiChatModel::new(&config).unwrap()
}

#[tokio::test]
async fn the_providers_list_is_offered_cached() {
    let fake = FakeOpenAi::start().await;
    fake.set_models(Some(vec!["local-large".into(), "qwen2.5:7b".into()]));
    let model = openai(&fake, true);
    assert!(!model.serves("qwen2.5:7b"), "nothing listed before the first fetch");
    assert_eq!(ids(model.models().await), ["local-small", "local-large", "qwen2.5:7b"]);
    assert!(model.serves("qwen2.5:7b"));
    fake.set_models(Some(vec!["other".into()]));
    assert_eq!(ids(model.models().await), ["local-small", "local-large", "qwen2.5:7b"]);
    assert_eq!(fake.model_list_requests(), 1, "the list is cached");
}

#[tokio::test]
async fn a_failing_list_leaves_the_configured_models() {
    let fake = FakeOpenAi::start().await;
    fake.set_models(None);
    let model = openai(&fake, true);
    assert_eq!(ids(model.models().await), ["local-small", "local-large"]);
    let quiet = FakeOpenAi::start().await;
    quiet.set_models(Some(vec!["x".into()]));
    assert_eq!(
        ids(openai(&quiet, false).models().await),
        ["local-small", "local-large"]
    );
    assert_eq!(quiet.model_list_requests(), 0, "not asked unless configured");
}

#[tokio::test]
async fn requests_go_to_the_provider_of_their_model() {
    let open = FakeOpenAi::start().await;
    let claude = FakeAnthropic::start().await;
    open.push(Reply::text("from openai"));
    claude.push(Reply::text("from claude"));
    claude.push(Reply::text("claude again"));
    let anthropic = LlmConfig::new(Provider::Anthropic)
        .with_api_key("sk-ant-test")
        .with_base_url(claude.base_url())
        .with_chat_models(["claude-opus-4-1"]);
    let router = ModelRouter::new(openai(&open, false), [GenaiChatModel::new(&anthropic).unwrap()]);
    let ask = |model: Option<&str>| {
        let mut r = ChatRequest::new(vec![ChatMessage::user("hi")]);
        r.model = model.map(str::to_owned);
        r
    };
    assert_eq!(
        router.complete_text(ask(Some("claude-opus-4-1"))).await.unwrap(),
        "from claude"
    );
    assert_eq!(router.complete_text(ask(None)).await.unwrap(), "from openai");
    assert_eq!(
        router.complete_text(ask(Some("claude-sonnet-4-5"))).await.unwrap(),
        "claude again"
    );
    let asked: Vec<_> = claude.chat_requests().iter().map(|r| r["model"].clone()).collect();
    assert_eq!(asked, ["claude-opus-4-1", "claude-sonnet-4-5"]);
    assert_eq!(open.chat_requests()[0]["model"], "local-small");
}

//! The embedder against the fakes' embedding endpoints.

#[macro_use]
mod common;

use common::{Fake, embedder};
use meai_core::model::Embedder;
use meai_llm::Provider;
use meai_testkit::openai::{DEFAULT_EMBEDDING_DIMENSIONS, hash_embedding};

async fn embeds_a_batch_in_one_request(provider: Provider) {
    let fake = Fake::start(provider).await;
    let embedder = embedder(&fake.config(provider));
    let texts: Vec<String> = ["the cat sat", "a dog barked", "the cat slept"]
        .map(String::from)
        .into();

    let vectors = embedder.embed(&texts).await.unwrap();

    let expected: Vec<_> = texts
        .iter()
        .map(|t| hash_embedding(t, DEFAULT_EMBEDDING_DIMENSIONS))
        .collect();
    assert_eq!(vectors, expected);
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].model.as_deref(), provider.default_embedding_model());
    match provider {
        Provider::OpenAi => {
            assert_eq!(sent[0].path, "/v1/embeddings");
            assert_eq!(sent[0].body["input"].as_array().unwrap().len(), 3);
        }
        Provider::Gemini => {
            assert!(sent[0].path.ends_with(":batchEmbedContents"), "{}", sent[0].path);
            assert_eq!(sent[0].body["requests"].as_array().unwrap().len(), 3);
        }
        Provider::Anthropic => unreachable!("Anthropic has no embeddings"),
    }
    assert_eq!(
        embedder.model_id(),
        format!("{provider}/{}", provider.default_embedding_model().unwrap())
    );
}

async fn asks_for_the_configured_dimensions(provider: Provider) {
    let fake = Fake::start(provider).await;
    let embedder = embedder(&fake.config(provider).with_embedding_dimensions(8));

    let vectors = embedder.embed(&["one".to_owned()]).await.unwrap();

    assert_eq!(vectors[0].len(), 8);
    assert!(embedder.model_id().ends_with("@8"));
}

async fn an_empty_batch_makes_no_request(provider: Provider) {
    let fake = Fake::start(provider).await;
    let embedder = embedder(&fake.config(provider));

    assert!(embedder.embed(&[]).await.unwrap().is_empty());
    assert!(fake.requests().is_empty());
}

async fn large_batches_are_split(provider: Provider) {
    let fake = Fake::start(provider).await;
    let embedder = embedder(&fake.config(provider));
    let texts: Vec<String> = (0..1030).map(|i| format!("text number {i}")).collect();

    let vectors = embedder.embed(&texts).await.unwrap();

    assert_eq!(vectors.len(), texts.len());
    assert_eq!(
        vectors[1029],
        hash_embedding("text number 1029", DEFAULT_EMBEDDING_DIMENSIONS)
    );
    assert!(fake.requests().len() > 1);
}

/// The server falls back to its lexical embedder on this error, so it must be this one.
#[cfg(feature = "anthropic")]
#[test]
fn anthropic_has_no_embedder() {
    use meai_llm::{GenaiEmbedder, LlmConfig, LlmConfigError};
    let config = LlmConfig::new(Provider::Anthropic).with_api_key(common::API_KEY);

    let error = GenaiEmbedder::new(&config).err().expect("no embedder");

    assert_eq!(error, LlmConfigError::NoEmbeddings(Provider::Anthropic));
    assert!(
        error.to_string().contains("anthropic API has no embedding models"),
        "{error}"
    );
}

for_embedding_providers!(
    embeds_a_batch_in_one_request,
    asks_for_the_configured_dimensions,
    an_empty_batch_makes_no_request,
    large_batches_are_split,
);

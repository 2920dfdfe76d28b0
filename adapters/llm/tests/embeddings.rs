//! The embedder against the fakes' embedding endpoints.

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
    assert_eq!(sent[0].model.as_deref(), Some(provider.default_embedding_model()));
    match provider {
        Provider::OpenAi => {
            assert_eq!(sent[0].path, "/v1/embeddings");
            assert_eq!(sent[0].body["input"].as_array().unwrap().len(), 3);
        }
        Provider::Gemini => {
            assert!(sent[0].path.ends_with(":batchEmbedContents"), "{}", sent[0].path);
            assert_eq!(sent[0].body["requests"].as_array().unwrap().len(), 3);
        }
    }
    assert_eq!(
        embedder.model_id(),
        format!("{provider}/{}", provider.default_embedding_model())
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

macro_rules! for_both_providers {
    ($($test:ident),* $(,)?) => {
        #[cfg(feature = "openai")]
        mod openai {
            $(#[tokio::test]
            async fn $test() {
                super::$test(meai_llm::Provider::OpenAi).await
            })*
        }
        #[cfg(feature = "gemini")]
        mod gemini {
            $(#[tokio::test]
            async fn $test() {
                super::$test(meai_llm::Provider::Gemini).await
            })*
        }
    };
}

for_both_providers!(
    embeds_a_batch_in_one_request,
    asks_for_the_configured_dimensions,
    an_empty_batch_makes_no_request,
    large_batches_are_split,
);

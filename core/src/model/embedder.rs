use super::ModelError;

/// Turns texts into vectors for semantic recall.
#[async_trait::async_trait]
pub trait Embedder: Send + Sync + 'static {
    /// One vector per text, in the order given; an empty batch makes no call. Adapters split
    /// batches larger than their provider accepts.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError>;

    /// Names the embedding space (provider, model, dimensions): vectors from embedders with
    /// different ids must not be compared.
    fn model_id(&self) -> &str;
}

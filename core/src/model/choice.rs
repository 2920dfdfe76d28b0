/// A chat model a conversation may choose: its name as the provider knows it, and the
/// provider that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelChoice {
    pub id: String,
    /// `openai`, `gemini`, `anthropic`, ... (empty when the adapter does not say).
    pub provider: String,
}

impl ModelChoice {
    pub fn new(id: impl Into<String>, provider: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            provider: provider.into(),
        }
    }
}

/// The chat models a server can use, and the one used when a conversation chose none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelList {
    /// `None` without a language model.
    pub default: Option<String>,
    pub models: Vec<ModelChoice>,
}

impl ModelList {
    /// The model named exactly `id`, if the server can use it.
    pub fn find(&self, id: &str) -> Option<&ModelChoice> {
        self.models.iter().find(|m| m.id == id)
    }
}

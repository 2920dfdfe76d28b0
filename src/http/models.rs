//! The chat models a conversation may choose.

use super::session::Authenticated;
use super::{ApiError, ApiTags};
use crate::state::AppState;
use meai_core::model::ModelList;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

pub struct ModelsApi;

/// A chat model of this server.
#[derive(Debug, Object)]
struct ModelOut {
    /// The model's name, as `model` of a conversation takes it.
    id: String,
    /// Who serves it: `openai` (or an OpenAI-compatible server), `gemini`, `anthropic`.
    provider: String,
}

/// The chat models of this server.
#[derive(Debug, Object)]
struct ModelsOut {
    /// What conversations without a `model` use; null when no language model is configured.
    #[oai(nullable)]
    default: Option<String>,
    models: Vec<ModelOut>,
}

impl From<ModelList> for ModelsOut {
    fn from(list: ModelList) -> Self {
        Self {
            default: list.default,
            models: list
                .models
                .into_iter()
                .map(|m| ModelOut {
                    id: m.id,
                    provider: m.provider,
                })
                .collect(),
        }
    }
}

#[OpenApi(tag = "ApiTags::Conversations")]
impl ModelsApi {
    /// Chat models
    ///
    /// The models a conversation may choose (`model` of `POST /conversations` and `PATCH
    /// /conversations/{id}`): each configured provider's models from configuration (and, with
    /// `LIST_PROVIDER_MODELS`, the ones the provider lists), and the default one. Empty without
    /// a language model.
    #[oai(path = "/models", method = "get", operation_id = "listModels")]
    async fn list(&self, state: Data<&AppState>, _session: Authenticated) -> Result<Json<ModelsOut>, ApiError> {
        Ok(Json(state.conversations.models().await.into()))
    }
}

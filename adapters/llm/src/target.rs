//! Where requests go: one genai client aimed explicitly at the configured provider and endpoint.

use crate::config::{LlmConfig, LlmConfigError, Provider};
use crate::errors::Redactor;
use genai::adapter::AdapterKind;
use genai::resolver::{AuthData, Endpoint};
use genai::{Client, ModelIden, ServiceTarget, WebConfig};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Keyless OpenAI-compatible servers still need a key: genai refuses to build the
/// `Authorization` header without one.
const PLACEHOLDER_KEY: &str = "unused";

#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) client: Client,
    pub(crate) provider: Provider,
    pub(crate) redactor: Redactor,
    kind: AdapterKind,
    endpoint: Endpoint,
    auth: AuthData,
}

impl Target {
    pub(crate) fn new(config: &LlmConfig) -> Result<Self, LlmConfigError> {
        let kind = adapter_kind(config.provider)?;
        let key = config.api_key.clone().filter(|k| !k.trim().is_empty());
        let base_url = match &config.base_url {
            Some(url) => normalize_base_url(url)?,
            None => config.provider.public_base_url().to_owned(),
        };
        let key = match (key, &config.base_url) {
            (Some(key), _) => key,
            (None, Some(_)) => PLACEHOLDER_KEY.to_owned(),
            (None, None) => return Err(LlmConfigError::MissingApiKey(config.provider)),
        };
        let client = Client::builder()
            .with_web_config(WebConfig::default().with_connect_timeout(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| LlmConfigError::Client(e.to_string()))?;
        Ok(Self {
            client,
            provider: config.provider,
            redactor: Redactor::new(&key),
            kind,
            endpoint: Endpoint::from_owned(base_url),
            auth: AuthData::from_single(key),
        })
    }

    /// Names the adapter explicitly: genai would otherwise guess it from the model name (and
    /// send `gpt-5*` to the Responses API, unknown names to Ollama's native API).
    pub(crate) fn service(&self, model: &str) -> ServiceTarget {
        ServiceTarget {
            endpoint: self.endpoint.clone(),
            auth: self.auth.clone(),
            model: ModelIden::new(self.kind, model.to_owned()),
        }
    }
}

impl Target {
    /// The model names the provider lists (`GET {base_url}models`).
    pub(crate) async fn list_models(&self) -> Result<Vec<String>, String> {
        self.client
            .all_model_names(self.kind, (self.endpoint.clone(), self.auth.clone()))
            .await
            .map_err(|e| self.redactor.clean(&e.to_string()))
    }
}

fn adapter_kind(provider: Provider) -> Result<AdapterKind, LlmConfigError> {
    let spec = provider.spec();
    match spec.compiled {
        true => Ok(spec.adapter),
        false => Err(LlmConfigError::NotCompiled(provider)),
    }
}

/// genai joins `chat/completions` / `models/..` onto the base URL, so it must end with `/`.
fn normalize_base_url(url: &str) -> Result<String, LlmConfigError> {
    let url = url.trim();
    let has_host = ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    });
    if !has_host {
        return Err(LlmConfigError::InvalidBaseUrl(url.to_owned()));
    }
    Ok(if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_not_compiled_in_are_a_config_error() {
        for provider in Provider::ALL {
            let config = LlmConfig::new(provider).with_api_key("k");
            let compiled = match provider {
                Provider::OpenAi => cfg!(feature = "openai"),
                Provider::Gemini => cfg!(feature = "gemini"),
                Provider::Anthropic => cfg!(feature = "anthropic"),
            };
            match Target::new(&config) {
                Ok(_) => assert!(compiled),
                Err(e) => assert_eq!((compiled, e), (false, LlmConfigError::NotCompiled(provider))),
            }
        }
    }

    #[test]
    fn base_urls_get_the_trailing_slash_genai_needs() {
        assert_eq!(
            normalize_base_url("http://localhost:11434/v1").unwrap(),
            "http://localhost:11434/v1/"
        );
        assert_eq!(
            normalize_base_url("https://x.example/v1/").unwrap(),
            "https://x.example/v1/"
        );
        assert!(normalize_base_url("localhost:11434").is_err());
        assert!(normalize_base_url("http://").is_err());
    }

    #[cfg(feature = "openai")]
    #[test]
    fn the_public_api_needs_a_key_a_custom_server_does_not() {
        let public = LlmConfig::new(Provider::OpenAi);
        assert!(matches!(
            Target::new(&public),
            Err(LlmConfigError::MissingApiKey(Provider::OpenAi))
        ));
        let local = LlmConfig::new(Provider::OpenAi).with_base_url("http://127.0.0.1:11434/v1");
        assert!(Target::new(&local).is_ok());
    }

    #[cfg(feature = "anthropic")]
    #[test]
    fn anthropic_requests_name_its_adapter_and_public_api() {
        let target = Target::new(&LlmConfig::new(Provider::Anthropic).with_api_key("sk-ant-test")).unwrap();
        let service = target.service("claude-sonnet-4-5");
        assert_eq!(service.model.adapter_kind, AdapterKind::Anthropic);
        assert_eq!(service.model.model_name, "claude-sonnet-4-5");
        assert_eq!(service.endpoint.base_url(), "https://api.anthropic.com/v1/");
    }
}

//! How to reach Composio.

use std::time::Duration;

/// The public Composio backend.
pub const DEFAULT_BASE_URL: &str = "https://backend.composio.dev";
/// v3 is what the Python SDK 0.10.x talks to; v3.1 only changes the default tool version, and
/// this client always sends `latest`, so both behave the same.
pub const DEFAULT_API_PREFIX: &str = "/api/v3";

/// Client settings. `Debug` never shows the API key.
#[derive(Clone)]
pub struct ComposioConfig {
    pub(crate) api_key: String,
    /// Origin of the backend, without the API prefix.
    pub base_url: String,
    /// `/api/v3` or `/api/v3.1`.
    pub api_prefix: String,
    /// Per request, including reading the body.
    pub timeout: Duration,
    /// Retries after a 429, a 5xx or a failed connection (not counting the first attempt).
    pub max_retries: u32,
    /// Longest wait before a retry; a longer `Retry-After` is reported to the caller instead.
    pub max_retry_wait: Duration,
    /// How long a toolkit's tool list is reused before it is fetched again.
    pub tools_ttl: Duration,
    /// Tools fetched per toolkit (one page; Composio's maximum is 1000).
    pub tools_per_toolkit: u32,
    /// Where Composio sends the person after authorizing (the frontend).
    pub callback_url: Option<String>,
}

impl ComposioConfig {
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            base_url: DEFAULT_BASE_URL.into(),
            api_prefix: DEFAULT_API_PREFIX.into(),
            timeout: Duration::from_secs(60),
            max_retries: 2,
            max_retry_wait: Duration::from_secs(10),
            tools_ttl: Duration::from_secs(600),
            tools_per_toolkit: 200,
            callback_url: None,
        }
    }

    /// The backend to use. A URL ending in an API prefix (`.../api/v3.1`) also selects it;
    /// otherwise the prefix stays [`DEFAULT_API_PREFIX`].
    pub fn with_base_url(mut self, url: &str) -> Self {
        let url = url.trim().trim_end_matches('/');
        match url.find("/api/v") {
            Some(i) => {
                self.base_url = url[..i].to_owned();
                self.api_prefix = url[i..].to_owned();
            }
            None => self.base_url = url.to_owned(),
        }
        self
    }

    pub fn with_callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}{}", self.base_url, self.api_prefix, path)
    }
}

impl std::fmt::Debug for ComposioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComposioConfig")
            .field("api_key", &"[redacted]")
            .field("base_url", &self.base_url)
            .field("api_prefix", &self.api_prefix)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("tools_ttl", &self.tools_ttl)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_may_carry_the_api_prefix() {
        let c = ComposioConfig::new("k").with_base_url("https://backend.composio.dev/api/v3.1/");
        assert_eq!(
            (c.base_url.as_str(), c.api_prefix.as_str()),
            ("https://backend.composio.dev", "/api/v3.1")
        );
        let c = ComposioConfig::new("k").with_base_url("http://127.0.0.1:9/");
        assert_eq!(c.url("/tools"), "http://127.0.0.1:9/api/v3/tools");
    }

    #[test]
    fn debug_hides_the_key() {
        let c = ComposioConfig::new("ak_secret");
        assert!(!format!("{c:?}").contains("ak_secret"));
    }
}

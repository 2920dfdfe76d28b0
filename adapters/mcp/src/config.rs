//! How to reach one MCP server.

use crate::Secret;
use std::fmt;
use std::time::Duration;

/// Default bound on reaching a server: DNS, TCP, TLS and the `initialize` handshake together.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound on one request (`tools/list`, or a `tools/call` given no timeout of its own).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One MCP server. `Debug` shows header names but never their values nor the token.
#[derive(Clone)]
pub struct McpServerConfig {
    /// The server's name, unique per person; namespaced tool names are made from it.
    pub name: String,
    /// The Streamable HTTP endpoint (`https://host/mcp`).
    pub url: String,
    /// Extra headers sent with every request (an API key header, for instance).
    pub headers: Vec<(String, Secret)>,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
    pub connect_timeout: Duration,
    /// Bound on each request; `call_tool` takes its own.
    pub timeout: Duration,
    /// Lets loopback and private-network addresses through the SSRF guard: for servers the
    /// operator runs beside meAI, never for URLs a person typed.
    pub allow_private: bool,
}

impl McpServerConfig {
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            headers: Vec::new(),
            bearer_token: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_REQUEST_TIMEOUT,
            allow_private: false,
        }
    }

    pub fn with_bearer_token(mut self, token: impl Into<Secret>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn allow_private(mut self, allow: bool) -> Self {
        self.allow_private = allow;
        self
    }

    /// Every credential of this config, to scrub from texts that came back from the server.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.bearer_token.iter().chain(self.headers.iter().map(|(_, v)| v))
    }
}

impl fmt::Debug for McpServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("McpServerConfig")
            .field("name", &self.name)
            .field("url", &redacted_url(&self.url))
            .field("headers", &header_names)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "[redacted]"))
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("allow_private", &self.allow_private)
            .finish()
    }
}

/// The URL without its query and userinfo, which may carry keys; fit for logs and errors.
pub(crate) fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            if u.query().is_some() {
                u.set_query(Some("[redacted]"));
            }
            u.to_string()
        }
        Err(_) => "[invalid URL]".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_token_header_values_and_url_secrets() {
        let c = McpServerConfig::new("notes", "https://u:pw@mcp.example.com/mcp?key=k_secret")
            .with_bearer_token("tok_secret")
            .with_header("x-api-key", "hdr_secret");
        let debug = format!("{c:?}");
        for secret in ["tok_secret", "hdr_secret", "k_secret", "pw"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(
            debug.contains("x-api-key") && debug.contains("mcp.example.com/mcp"),
            "{debug}"
        );
    }
}

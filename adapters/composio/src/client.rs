//! HTTP to Composio: the key header, timeouts, bounded retries, and the mapping of failures
//! onto the port's errors. Neither the key nor request URLs reach errors or logs.

use crate::config::ComposioConfig;
use crate::wire::ErrorBody;
use meai_core::toolkits::ToolkitError;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use std::time::Duration;

/// Whether a request may be sent again after the server may have acted on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads, and creations that are harmless twice (a second connect link).
    Safe,
    /// Tool executions: a 5xx or a timeout may come after the e-mail was sent, so only a 429
    /// or a refused connection (nothing done) is retried.
    Unsafe,
}

/// A final answer with its status; 2xx and the 4xx that are not retried.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The body of a success; a 4xx becomes the port's error.
    pub fn ok(self) -> Result<Value, ToolkitError> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        let (code, message) = ErrorBody::parse(&self.body);
        Err(match (self.status.as_u16(), code) {
            (_, Some(1803)) => ToolkitError::NoConnectedAccount(message),
            (404, _) => ToolkitError::NotFound(message),
            (400 | 409 | 422, _) => ToolkitError::BadRequest(message),
            (401 | 403, _) => ToolkitError::Upstream(format!(
                "Composio refused the API key (HTTP {}): {message}",
                self.status.as_u16()
            )),
            (s, _) => ToolkitError::Upstream(format!("HTTP {s}: {message}")),
        })
    }
}

pub struct Http {
    client: reqwest::Client,
    config: ComposioConfig,
}

/// The transport failure in words, without the URL.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_decode() {
        "unreadable reply"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

impl Http {
    pub fn new(config: ComposioConfig) -> Result<Self, String> {
        let mut headers = header::HeaderMap::new();
        let mut key = header::HeaderValue::from_str(&config.api_key)
            .map_err(|_| "the Composio API key is not a valid header value")?;
        key.set_sensitive(true);
        headers.insert("x-api-key", key);
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("meai/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {}", e.without_url()))?;
        Ok(Self { client, config })
    }

    pub fn config(&self) -> &ComposioConfig {
        &self.config
    }

    fn backoff(&self, attempt: u32) -> Duration {
        (Duration::from_millis(500) * 2u32.saturating_pow(attempt)).min(self.config.max_retry_wait)
    }

    /// Sends a request, retrying 429s (as long as the asked wait is bounded), 5xx and
    /// connection failures, as `replay` allows.
    #[tracing::instrument(skip(self, query, body), fields(path = %path))]
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Reply, ToolkitError> {
        let url = self.config.url(path);
        let mut attempt = 0;
        loop {
            let mut request = self.client.request(method.clone(), &url).query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let last = attempt >= self.config.max_retries;
            let wait = match request.send().await {
                Err(e) => {
                    // A refused connection sent nothing; a timeout may have been acted upon.
                    let retry = !last && (e.is_connect() || (replay == Replay::Safe && e.is_timeout()));
                    let what = describe(e);
                    if !retry {
                        return Err(ToolkitError::Unavailable(format!("Composio {what}")));
                    }
                    tracing::warn!(attempt, error = %what, "Composio request failed, retrying");
                    self.backoff(attempt)
                }
                Ok(resp) if resp.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let asked = retry_after(resp.headers());
                    let wait = asked.unwrap_or_else(|| self.backoff(attempt));
                    if last || wait > self.config.max_retry_wait {
                        return Err(ToolkitError::RateLimited { retry_after: asked });
                    }
                    tracing::warn!(
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "Composio rate limit, retrying"
                    );
                    wait
                }
                Ok(resp) if resp.status().is_server_error() => {
                    let status = resp.status();
                    let wait = retry_after(resp.headers()).unwrap_or_else(|| self.backoff(attempt));
                    if last || replay == Replay::Unsafe || wait > self.config.max_retry_wait {
                        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
                        let (_, message) = ErrorBody::parse(&body);
                        return Err(ToolkitError::Unavailable(format!(
                            "Composio HTTP {}: {message}",
                            status.as_u16()
                        )));
                    }
                    tracing::warn!(attempt, status = status.as_u16(), "Composio server error, retrying");
                    wait
                }
                Ok(resp) => {
                    let status = resp.status();
                    let bytes = resp
                        .bytes()
                        .await
                        .map_err(|e| ToolkitError::Unavailable(format!("Composio {}", describe(e))))?;
                    let body = if bytes.is_empty() {
                        Value::Null
                    } else {
                        match serde_json::from_slice(&bytes) {
                            Ok(v) => v,
                            // An error page that is not JSON still maps by its status.
                            Err(_) if !status.is_success() => Value::Null,
                            Err(e) => {
                                let status = status.as_u16();
                                return Err(ToolkitError::Upstream(format!(
                                    "unreadable Composio reply (HTTP {status}): {e}"
                                )));
                            }
                        }
                    };
                    return Ok(Reply { status, body });
                }
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

//! genai's errors mapped onto [`ModelError`], with the HTTP status and `Retry-After` recovered
//! from where genai keeps them, and the API key scrubbed from every message.

use genai::webc::StreamTimeout;
use meai_core::model::ModelError;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::error::Error as StdError;
use std::time::Duration;

/// Provider error bodies can be long; keep what identifies the problem.
const MAX_MESSAGE_CHARS: usize = 500;

/// Removes the API key from text that may echo it (error bodies, URLs).
#[derive(Clone)]
pub(crate) struct Redactor {
    secret: Option<String>,
}

impl Redactor {
    pub(crate) fn new(secret: &str) -> Self {
        // A very short "key" would redact ordinary words; such keys are placeholders anyway.
        Self {
            secret: (secret.len() >= 8).then(|| secret.to_owned()),
        }
    }

    pub(crate) fn clean(&self, text: &str) -> String {
        let text = match &self.secret {
            Some(secret) => text.replace(secret.as_str(), "[redacted]"),
            None => text.to_owned(),
        };
        let text = scrub_key_like(&text);
        match text.char_indices().nth(MAX_MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    }
}

/// How credentials and account ids begin when providers echo them in errors: OpenAI's keys
/// (masked as `sk-...T123` or whole), organisations and projects, Google's API keys.
const KEY_LIKE: [&str; 5] = ["sk-", "org-", "proj_", "AIza", "key-"];

/// Replaces every word that starts like a credential with `[redacted]`.
fn scrub_key_like(text: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || "-_.*".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_word) {
        out.push_str(&rest[..start]);
        let word_len = rest[start..].find(|c: char| !is_word(c)).unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        if KEY_LIKE.iter().any(|p| word.starts_with(p)) {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        rest = &rest[start + word_len..];
    }
    out.push_str(rest);
    out
}

/// What went wrong, as the port names it.
pub(crate) fn map_error(error: genai::Error, redactor: &Redactor) -> ModelError {
    use genai::Error as G;
    match error {
        G::HttpError {
            status, body, headers, ..
        } => from_status(status, &body, &headers, redactor),
        G::WebStream { error, cause, .. } => from_transport(error.as_ref(), &cause, redactor),
        G::WebModelCall { webc_error, .. } | G::WebAdapterCall { webc_error, .. } => match webc_error {
            genai::webc::Error::ResponseFailedStatus { status, body, headers } => {
                from_status(status, &body, &headers, redactor)
            }
            genai::webc::Error::Reqwest(e) => from_transport(&e, &e.to_string(), redactor),
            other => ModelError::Upstream {
                status: None,
                message: redactor.clean(&other.to_string()),
            },
        },
        G::ChatResponse { body, .. } => from_error_body(&body, redactor),
        G::StreamParse { serde_error, .. } => ModelError::Upstream {
            status: None,
            message: format!("malformed stream frame: {serde_error}"),
        },
        e @ (G::ChatReqHasNoMessages { .. }
        | G::LastChatMessageIsNotUser { .. }
        | G::MessageRoleNotSupported { .. }
        | G::MessageContentTypeNotSupported { .. }
        | G::RequiresApiKey { .. }
        | G::NoAuthResolver { .. }
        | G::NoAuthData { .. }
        | G::Resolver { .. }
        | G::AdapterNotSupported { .. }) => ModelError::InvalidRequest(redactor.clean(&e.to_string())),
        other => ModelError::Upstream {
            status: None,
            message: redactor.clean(&other.to_string()),
        },
    }
}

/// An error from the byte stream under SSE: a failed status, a read timeout, or the socket.
fn from_transport(error: &(dyn StdError + Send + Sync + 'static), cause: &str, redactor: &Redactor) -> ModelError {
    if let Some(genai::Error::HttpError {
        status, body, headers, ..
    }) = error.downcast_ref::<genai::Error>()
    {
        return from_status(*status, body, headers, redactor);
    }
    if error.downcast_ref::<StreamTimeout>().is_some() {
        return ModelError::Timeout;
    }
    if let Some(e) = error.downcast_ref::<reqwest::Error>() {
        if e.is_timeout() {
            return ModelError::Timeout;
        }
        if e.is_connect() {
            return ModelError::Unavailable(redactor.clean(&error_chain(e)));
        }
        if e.is_body() || e.is_decode() {
            // The connection broke in the middle of the answer.
            return ModelError::Truncated;
        }
        if let Some(status) = e.status() {
            return from_status(status, "", &HeaderMap::new(), redactor);
        }
        return ModelError::Unavailable(redactor.clean(&error_chain(e)));
    }
    ModelError::Upstream {
        status: None,
        message: redactor.clean(cause),
    }
}

fn from_status(status: StatusCode, body: &str, headers: &HeaderMap, redactor: &Redactor) -> ModelError {
    let message = body_message(body).unwrap_or_else(|| status.to_string());
    by_status(status.as_u16(), &message, retry_after(headers), redactor)
}

fn by_status(code: u16, message: &str, retry_after: Option<Duration>, redactor: &Redactor) -> ModelError {
    let message = redactor.clean(message);
    match code {
        429 => ModelError::RateLimited { retry_after },
        400 | 404 | 413 | 422 => ModelError::InvalidRequest(format!("HTTP {code}: {message}")),
        code => ModelError::Upstream {
            status: Some(code),
            message,
        },
    }
}

/// An error event inside an otherwise successful stream: OpenAI's error object (genai unwraps
/// it), or Google's and Anthropic's `{"error": {..}}` (Anthropic: `event: error`, e.g. when
/// overloaded), mapped as the same error would be as an HTTP status.
fn from_error_body(body: &Value, redactor: &Redactor) -> ModelError {
    let error = body.get("error").filter(|e| e.is_object()).unwrap_or(body);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| body.to_string());
    let kind = error
        .get("type")
        .or_else(|| error.get("status"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind.contains("rate_limit") || kind == "RESOURCE_EXHAUSTED" {
        return ModelError::RateLimited { retry_after: None };
    }
    let code = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..600).contains(c))
        .or_else(|| anthropic_status(kind));
    match code {
        Some(code) => by_status(code, &message, None, redactor),
        None => ModelError::Upstream {
            status: None,
            message: redactor.clean(&message),
        },
    }
}

/// The HTTP status Anthropic documents for each of its error types.
fn anthropic_status(kind: &str) -> Option<u16> {
    Some(match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => return None,
    })
}

/// The `error.message` of OpenAI's, Google's and Anthropic's JSON error bodies, else the body.
fn body_message(body: &str) -> Option<String> {
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message"))
        .and_then(Value::as_str);
    Some(message.unwrap_or(body).to_owned())
}

/// The provider's wait hint: OpenAI's `retry-after-ms`, else `retry-after` in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let seconds = header("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| header("retry-after"))?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// reqwest's top-level message is generic ("error sending request"); the cause says why.
fn error_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn http_error(status: u16, body: &str, headers: &[(&'static str, &'static str)]) -> genai::Error {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_static(v));
        }
        genai::Error::HttpError {
            status: StatusCode::from_u16(status).unwrap(),
            canonical_reason: String::new(),
            body: body.to_owned(),
            headers: Box::new(map),
        }
    }

    #[test]
    fn rate_limits_carry_the_retry_after_hint() {
        let e = map_error(http_error(429, "{}", &[("retry-after", "2")]), &Redactor::new(""));
        assert_eq!(
            e,
            ModelError::RateLimited {
                retry_after: Some(Duration::from_secs(2))
            }
        );
        let e = map_error(
            http_error(429, "{}", &[("retry-after-ms", "250"), ("retry-after", "1")]),
            &Redactor::new(""),
        );
        assert_eq!(
            e,
            ModelError::RateLimited {
                retry_after: Some(Duration::from_millis(250))
            }
        );
    }

    #[test]
    fn status_errors_read_the_json_message_without_the_key() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-live-abcdefgh1234"}}"#;
        let e = map_error(http_error(401, body, &[]), &Redactor::new("sk-live-abcdefgh1234"));
        assert_eq!(
            e,
            ModelError::Upstream {
                status: Some(401),
                message: "Incorrect API key provided: [redacted]".into()
            }
        );
        assert!(matches!(
            map_error(http_error(400, "bad", &[]), &Redactor::new("")),
            ModelError::InvalidRequest(_)
        ));
    }

    #[test]
    fn in_stream_error_frames_are_upstream_errors() {
        let body = serde_json::json!({"message": "overloaded", "code": 503});
        assert_eq!(
            from_error_body(&body, &Redactor::new("")),
            ModelError::Upstream {
                status: Some(503),
                message: "overloaded".into()
            }
        );
        let body = serde_json::json!({"message": "slow down", "type": "rate_limit_exceeded"});
        assert_eq!(
            from_error_body(&body, &Redactor::new("")),
            ModelError::RateLimited { retry_after: None }
        );
    }

    #[test]
    fn anthropic_error_events_map_like_their_statuses() {
        let event = |kind: &str, message: &str| {
            let body = serde_json::json!({"type": "error", "error": {"type": kind, "message": message}});
            from_error_body(&body, &Redactor::new(""))
        };
        assert_eq!(
            event("overloaded_error", "Overloaded"),
            ModelError::Upstream {
                status: Some(529),
                message: "Overloaded".into()
            }
        );
        assert!(event("overloaded_error", "Overloaded").is_retryable());
        assert_eq!(
            event("rate_limit_error", "slow down"),
            ModelError::RateLimited { retry_after: None }
        );
        assert!(matches!(event("invalid_request_error", "bad"), ModelError::InvalidRequest(m) if m.ends_with("bad")));
        assert!(matches!(
            event("something_new", "?"),
            ModelError::Upstream { status: None, .. }
        ));
        let google = serde_json::json!({"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}});
        assert!(matches!(
            from_error_body(&google, &Redactor::new("")),
            ModelError::Upstream { status: Some(503), .. }
        ));
    }

    #[test]
    fn key_fragments_and_account_ids_are_redacted() {
        let text = "Incorrect API key provided: sk-proj-****T123. Org: org-AbC123; project proj_9x (HTTP 401)";
        assert_eq!(
            Redactor::new("").clean(text),
            "Incorrect API key provided: [redacted] Org: [redacted]; project [redacted] (HTTP 401)"
        );
        assert_eq!(Redactor::new("").clean("task-based key: none"), "task-based key: none");
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x".repeat(2000);
        assert!(Redactor::new("").clean(&long).chars().count() <= MAX_MESSAGE_CHARS + 1);
    }
}

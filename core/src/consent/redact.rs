//! Arguments as the action log keeps them: values under secret-looking keys, and values that
//! look like credentials, replaced by [`REDACTED`].

use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Key fragments that name a secret (compared in lower case, `-` read as `_`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "credential",
    "private_key",
    "client_secret",
    "refresh",
    "session_id",
];

/// Prefixes of well-known credential formats (bearer headers, OpenAI, GitHub, Slack, Google).
const SECRET_PREFIXES: &[&str] = &[
    "Bearer ", "bearer ", "Basic ", "sk-", "ghp_", "gho_", "xoxb-", "xoxp-", "ya29.",
];

fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    SECRET_KEYS.iter().any(|k| key.contains(k))
}

fn secret_value(s: &str) -> bool {
    SECRET_PREFIXES
        .iter()
        .any(|p| s.starts_with(p) && s.len() > p.len() + 8)
}

/// A copy of `value` with secrets redacted, at any depth.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if secret_key(k) && !v.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::String(s) if secret_value(s) => Value::String(REDACTED.into()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_the_rest_is_kept() {
        let args = json!({
            "recipient_email": "bob@example.com",
            "body": "hi",
            "api_key": "abc",
            "headers": {"Authorization": "Bearer abcdefghijklmnop", "X-Refresh-Token": "r"},
            "items": [{"password": "p"}, "sk-abcdefghijklmnopqrstuvwx", "sk-short"],
            "page_token": null,
        });
        assert_eq!(
            redact(&args),
            json!({
                "recipient_email": "bob@example.com",
                "body": "hi",
                "api_key": REDACTED,
                "headers": {"Authorization": REDACTED, "X-Refresh-Token": REDACTED},
                "items": [{"password": REDACTED}, REDACTED, "sk-short"],
                "page_token": null,
            })
        );
    }
}

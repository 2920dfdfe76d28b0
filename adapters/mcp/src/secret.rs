//! A credential that never shows itself in `Debug` or `Display`.

use std::fmt;

/// A bearer token or a header value. Read it with [`Secret::expose`] only where it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

const MIN_SCRUBBED_LEN: usize = 4;

/// Removes every secret from a text that may have come back from a server (an error body that
/// echoes the request, for instance), so it can go into an error or a log.
pub(crate) fn scrub<'a>(text: &str, secrets: impl IntoIterator<Item = &'a Secret>) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        // A value this short (`x-api-version: 1`) is no credential, and would blank out
        // ordinary characters of the text.
        if secret.0.len() >= MIN_SCRUBBED_LEN {
            text = text.replace(&secret.0, "[redacted]");
        }
    }
    text
}

/// [`scrub`] on every string in a JSON value.
pub(crate) fn scrub_json(value: &mut serde_json::Value, secrets: &[&Secret]) {
    use serde_json::Value;
    match value {
        Value::String(text) => *text = scrub(text, secrets.iter().copied()),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub_json(v, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("tok_very_secret");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "tok_very_secret");
    }

    #[test]
    fn scrub_removes_every_occurrence() {
        let a = Secret::new("tok_very_secret");
        let b = Secret::new("header-value-1");
        let text = "bad credentials: Bearer tok_very_secret (x: header-value-1, tok_very_secret)";
        assert_eq!(
            scrub(text, [&a, &b]),
            "bad credentials: Bearer [redacted] (x: [redacted], [redacted])"
        );
        let mut json = serde_json::json!({"echo": ["tok_very_secret", 1, {"h": "is header-value-1"}]});
        scrub_json(&mut json, &[&a, &b]);
        assert_eq!(
            json,
            serde_json::json!({"echo": ["[redacted]", 1, {"h": "is [redacted]"}]})
        );
        assert_eq!(
            scrub("ab 1 1", [&Secret::new("1")]),
            "ab 1 1",
            "too short to be a credential"
        );
    }
}

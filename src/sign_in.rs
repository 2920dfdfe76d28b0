//! The sign-in adapters configuration names: the session codec (biscuit, keyed by
//! `SECRET_KEY` or `SESSION_KEY_FILE`) and, with `GOOGLE_CLIENT_ID`, Google as the identity
//! provider.

use crate::config::{Config, ConfigError};
use meai_core::identity::Identity;
use meai_core::session::TokenCodec;
use meai_session::{BiscuitCodec, CachedCodec};
use std::sync::Arc;

/// Google's client settings, when `GOOGLE_CLIENT_ID` is set (validation made sure the rest is).
fn google_config(config: &Config) -> Option<meai_google::GoogleConfig> {
    let id = config.google_client_id.as_ref()?;
    let secret = config.google_client_secret.as_ref()?.expose();
    let redirect = config.google_redirect_uri.as_ref()?;
    let mut google = meai_google::GoogleConfig::new(id, secret, redirect);
    if let Some(url) = &config.google_auth_url {
        google.auth_url = url.clone();
    }
    if let Some(url) = &config.google_token_url {
        google.token_url = url.clone();
    }
    if let Some(url) = &config.google_userinfo_url {
        google.userinfo_url = url.clone();
    }
    Some(google)
}

/// Google sign-in, or `None` for local mode.
pub fn identity(config: &Config) -> Result<Option<Arc<dyn Identity>>, ConfigError> {
    let Some(google) = google_config(config) else {
        return Ok(None);
    };
    let identity =
        meai_google::GoogleIdentity::new(&google).map_err(|e| ConfigError::new(format!("Google sign-in: {e}")))?;
    Ok(Some(Arc::new(identity)))
}

/// The session-signing codec: from `SESSION_KEY_FILE`, else `SECRET_KEY`, else (local mode) a
/// random key per start.
pub fn codec(config: &Config) -> Result<Arc<dyn TokenCodec>, ConfigError> {
    if let Some(path) = &config.session_key_file {
        let hex =
            std::fs::read_to_string(path).map_err(|e| ConfigError::new(format!("SESSION_KEY_FILE {path}: {e}")))?;
        let codec = BiscuitCodec::from_private_key_hex(hex.trim())
            .map_err(|_| ConfigError::new("SESSION_KEY_FILE does not hold a hex Ed25519 private key"))?;
        return Ok(Arc::new(CachedCodec::new(codec)));
    }
    match &config.secret_key {
        Some(secret) => Ok(Arc::new(CachedCodec::new(BiscuitCodec::from_secret(
            secret.expose().as_bytes(),
        )))),
        None => {
            tracing::warn!(
                "SECRET_KEY is not set: sessions are signed with a random key and end when the server stops"
            );
            let mut seed = [0u8; 32];
            rand::fill(&mut seed);
            Ok(Arc::new(CachedCodec::new(BiscuitCodec::from_secret(&seed))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn google_with_key_file(path: &str) -> Config {
        let vars = [
            ("GOOGLE_CLIENT_ID", "id"),
            ("GOOGLE_CLIENT_SECRET", "s"),
            ("GOOGLE_REDIRECT_URI", "https://meai.example.com/auth/google/callback"),
            ("SESSION_KEY_FILE", path),
        ];
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    #[test]
    fn a_key_file_that_is_not_a_key_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("session.key");
        std::fs::write(&bad, "not a key").unwrap();
        let e = codec(&google_with_key_file(bad.to_str().unwrap()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("SESSION_KEY_FILE"), "{e}");
        let missing = dir.path().join("missing.key");
        let e = codec(&google_with_key_file(missing.to_str().unwrap()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("SESSION_KEY_FILE"), "{e}");
        let good = dir.path().join("good.key");
        std::fs::write(&good, "ab".repeat(32)).unwrap();
        assert!(codec(&google_with_key_file(good.to_str().unwrap())).is_ok());
    }
}

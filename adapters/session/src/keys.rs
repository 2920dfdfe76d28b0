//! Where the root key pair comes from. Key material never leaves this module in any printable form.

use biscuit_auth::{Algorithm, KeyPair, PrivateKey};
use hkdf::Hkdf;
use sha2::Sha256;

/// Domain separation: the same SECRET_KEY may feed other derivations, which must not collide.
const HKDF_INFO: &[u8] = b"meai/session/biscuit-root-key/ed25519/v1";

/// A private key that could not be read. Deliberately carries no detail: parser messages may quote
/// parts of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("invalid Ed25519 private key (expected 64 hex digits, optionally prefixed `ed25519-private/`)")]
    InvalidPrivateKey,
}

/// HKDF-SHA256(secret) -> 32-byte Ed25519 seed. Deterministic, so all instances agree.
pub(crate) fn derive(secret: &[u8]) -> KeyPair {
    let mut seed = [0u8; 32];
    Hkdf::<Sha256>::new(None, secret)
        .expand(HKDF_INFO, &mut seed)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    let key = PrivateKey::from_bytes(&seed, Algorithm::Ed25519).expect("any 32 bytes are an Ed25519 seed");
    seed.fill(0);
    KeyPair::from(&key)
}

/// Accepts the raw hex form and biscuit's prefixed form (`ed25519-private/<hex>`).
pub(crate) fn parse_private_hex(hex: &str) -> Result<KeyPair, KeyError> {
    let hex = hex.trim();
    let hex = hex.strip_prefix("ed25519-private/").unwrap_or(hex);
    PrivateKey::from_bytes_hex(hex, Algorithm::Ed25519)
        .map(|k| KeyPair::from(&k))
        .map_err(|_| KeyError::InvalidPrivateKey)
}

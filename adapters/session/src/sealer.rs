//! [`AeadSealer`]: secrets at rest (a person's MCP bearer tokens) sealed with AES-256-GCM, under a
//! key derived from SECRET_KEY by HKDF (its own `info`, so it is unrelated to the session key).
//!
//! A sealed value is `v1:` then the hex of a random 96-bit nonce and the ciphertext with its tag.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hkdf::Hkdf;
use meai_core::mcp::{SealError, SecretSealer};
use sha2::Sha256;

const HKDF_INFO: &[u8] = b"meai/secrets/aes-256-gcm/v1";
const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

pub struct AeadSealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for AeadSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeadSealer")
    }
}

impl AeadSealer {
    /// The same secret gives the same key on every instance.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(None, secret)
            .expand(HKDF_INFO, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key));
        key.fill(0);
        Self { cipher }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

impl SecretSealer for AeadSealer {
    fn seal(&self, secret: &str) -> Result<String, SealError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, secret.as_bytes())
            .map_err(|_| SealError("could not seal".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", to_hex(&bytes)))
    }

    fn open(&self, sealed: &str) -> Result<String, SealError> {
        let bad = || SealError("the sealed value cannot be opened with this key".into());
        let bytes = sealed.strip_prefix(PREFIX).and_then(from_hex).ok_or_else(bad)?;
        if bytes.len() <= NONCE_LEN {
            return Err(bad());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| bad())?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_secret_only() {
        let sealer = AeadSealer::from_secret(b"a secret key of some length, for tests");
        let sealed = sealer.seal("tok_very_secret").unwrap();
        assert!(
            sealed.starts_with("v1:") && !sealed.contains("tok_very_secret"),
            "{sealed}"
        );
        assert_ne!(
            sealed,
            sealer.seal("tok_very_secret").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(sealer.open(&sealed).unwrap(), "tok_very_secret");
        let again = AeadSealer::from_secret(b"a secret key of some length, for tests");
        assert_eq!(again.open(&sealed).unwrap(), "tok_very_secret", "every instance agrees");
        let other = AeadSealer::from_secret(b"another secret");
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert!(sealer.open(&tampered).is_err());
        assert!(sealer.open("tok_very_secret").is_err());
        assert!(format!("{sealer:?}").len() < 20);
    }
}

//! [`MockSealer`]: the SecretSealer port without cryptography, for tests: a sealed value is
//! the secret's bytes in hex behind `mock:`, so it never holds the secret as typed.

use meai_core::mcp::{SealError, SecretSealer};

#[derive(Debug, Clone, Default)]
pub struct MockSealer;

impl SecretSealer for MockSealer {
    fn seal(&self, secret: &str) -> Result<String, SealError> {
        Ok(format!(
            "mock:{}",
            secret.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        ))
    }

    fn open(&self, sealed: &str) -> Result<String, SealError> {
        let bad = || SealError("not sealed by MockSealer".into());
        let hex = sealed.strip_prefix("mock:").ok_or_else(bad)?;
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect();
        String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())
    }
}

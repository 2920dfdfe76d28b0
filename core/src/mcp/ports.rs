//! What the MCP server use cases need from outside: sealing tokens at rest, and judging a URL.

/// The token could not be sealed or opened (a wrong key, a corrupt value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SealError(pub String);

/// Seals secrets before they are stored and opens them where they are used. A sealed value is
/// opaque text; it never contains the secret in the clear.
pub trait SecretSealer: Send + Sync + 'static {
    fn seal(&self, secret: &str) -> Result<String, SealError>;
    fn open(&self, sealed: &str) -> Result<String, SealError>;
}

/// Whether a URL a person typed may be reached from this server (no loopback, private,
/// link-local or metadata address after DNS, unless the operator allows them). `Err` is a
/// sentence for the person.
#[async_trait::async_trait]
pub trait UrlGuard: Send + Sync + 'static {
    async fn check(&self, url: &str) -> Result<(), String>;
}

//! Sign-in with Google: the authorization-code flow with PKCE (OAuth 2.0 / OpenID Connect),
//! implementing meAI's [`Identity`](meai_core::identity::Identity) port.
//!
//! The profile comes from the userinfo endpoint, called over TLS with the access token that the
//! PKCE-bound code exchange returned: that call is the source of truth, so the id_token (whose
//! signature we would otherwise have to check against Google's JWKs) is not used.

mod config;
mod identity;
mod userinfo;

pub use config::{GoogleConfig, GoogleConfigError};
pub use identity::GoogleIdentity;

//! Session tokens as [biscuits](https://www.biscuitsec.org): Ed25519-signed, carrying the user id,
//! a token id (what logout revokes), issue and expiry times, and a datalog expiry check.
//!
//! Verification needs only the root public key, so every instance that shares the secret accepts
//! every other instance's tokens; revocation is the store's business, not the token's.

mod cached;
mod codec;
mod keys;
mod sealer;

pub use cached::CachedCodec;
pub use codec::BiscuitCodec;
pub use keys::KeyError;
pub use sealer::AeadSealer;

use meai_core::session::TokenId;

/// A fresh, unguessable token id: 128 random bits (UUID v4, simple form).
pub fn new_token_id() -> TokenId {
    TokenId::new(uuid::Uuid::new_v4().simple().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_are_unique_and_compact() {
        let (a, b) = (new_token_id(), new_token_id());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    }
}

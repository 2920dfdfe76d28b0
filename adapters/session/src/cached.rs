//! [`CachedCodec`]: remembers tokens that verified, so a session presented on every request pays
//! for the Ed25519 signature and the datalog check once.

use chrono::{DateTime, Utc};
use meai_core::session::{SessionClaims, SessionToken, TokenCodec, TokenError};
use std::collections::HashMap;
use std::sync::Mutex;

/// How many verified tokens [`CachedCodec::new`] keeps by default: far more than the sessions
/// one instance sees at once, and well under a megabyte or two (a session token is ~300 bytes).
pub const DEFAULT_CAPACITY: usize = 4096;

/// A [`TokenCodec`] decorator that caches successful verifications.
///
/// Sound because verification is pure: the signature and the claims of an immutable token never
/// change, and the only input that does, the clock, is checked again on every hit (with the
/// inner codec's rule: the token is valid while `now` is before `expires_at`, in whole seconds).
/// Entries are keyed by the exact token string and looked up by full comparison, so a token that
/// differs from a verified one in a single byte (tampered, re-signed, attenuated) misses and
/// goes through the inner codec. Failures are never cached. Revocation is not the codec's
/// business: callers still ask the store on every request, so logout stays immediate everywhere.
///
/// Bounded: at capacity, expired entries are dropped first and, if that frees nothing, the whole
/// cache is cleared (the next requests re-verify: a cost, never a wrong answer).
pub struct CachedCodec<C> {
    inner: C,
    capacity: usize,
    verified: Mutex<HashMap<Box<str>, SessionClaims>>,
}

impl<C: TokenCodec> CachedCodec<C> {
    pub fn new(inner: C) -> Self {
        Self::with_capacity(inner, DEFAULT_CAPACITY)
    }

    pub fn with_capacity(inner: C, capacity: usize) -> Self {
        Self {
            inner,
            capacity: capacity.max(1),
            verified: Mutex::new(HashMap::new()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, SessionClaims>> {
        // The map holds plain data; a panic elsewhere while it was locked leaves it consistent.
        self.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg(test)]
    fn cached_len(&self) -> usize {
        self.cache().len()
    }
}

/// The biscuit codec's expiry rule on datalog dates (whole seconds): `now < expires_at`.
fn unexpired(claims: &SessionClaims, now: DateTime<Utc>) -> bool {
    now.timestamp() < claims.expires_at.timestamp()
}

impl<C> std::fmt::Debug for CachedCodec<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedCodec")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<C: TokenCodec> TokenCodec for CachedCodec<C> {
    fn mint(&self, claims: &SessionClaims) -> Result<SessionToken, TokenError> {
        self.inner.mint(claims)
    }

    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<SessionClaims, TokenError> {
        {
            let mut cache = self.cache();
            if let Some(claims) = cache.get(token) {
                if unexpired(claims, now) {
                    return Ok(claims.clone());
                }
                cache.remove(token);
                return Err(TokenError::Expired);
            }
        }
        // Verify outside the lock: concurrent first sights of one token both verify, harmlessly.
        let claims = self.inner.verify(token, now)?;
        let mut cache = self.cache();
        if cache.len() >= self.capacity {
            cache.retain(|_, c| unexpired(c, now));
            if cache.len() >= self.capacity {
                cache.clear();
            }
        }
        cache.insert(token.into(), claims.clone());
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BiscuitCodec;
    use chrono::{Duration, SubsecRound};
    use meai_core::UserId;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SECRET: &[u8] = b"test secret key, at least 32 bytes long";

    /// Counts the verifications that reach the real codec.
    struct Counting {
        codec: BiscuitCodec,
        calls: AtomicUsize,
    }

    impl TokenCodec for Counting {
        fn mint(&self, claims: &SessionClaims) -> Result<SessionToken, TokenError> {
            self.codec.mint(claims)
        }
        fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<SessionClaims, TokenError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.codec.verify(token, now)
        }
    }

    fn codec(capacity: usize) -> CachedCodec<Counting> {
        let inner = Counting {
            codec: BiscuitCodec::from_secret(SECRET),
            calls: AtomicUsize::new(0),
        };
        CachedCodec::with_capacity(inner, capacity)
    }

    fn calls(c: &CachedCodec<Counting>) -> usize {
        c.inner.calls.load(Ordering::SeqCst)
    }

    fn claims(lifetime: Duration) -> SessionClaims {
        let now = Utc::now().trunc_subsecs(0);
        SessionClaims {
            user_id: UserId(7),
            token_id: crate::new_token_id(),
            issued_at: now,
            expires_at: now + lifetime,
        }
    }

    fn mint(c: &impl TokenCodec, claims: &SessionClaims) -> String {
        c.mint(claims).expect("mint").expose().to_owned()
    }

    #[test]
    fn second_verification_is_served_from_the_cache() {
        let codec = codec(16);
        let c = claims(Duration::hours(1));
        let token = mint(&codec, &c);
        assert_eq!(codec.verify(&token, Utc::now()), Ok(c.clone()));
        assert_eq!(codec.verify(&token, Utc::now()), Ok(c));
        assert_eq!(calls(&codec), 1);
    }

    #[test]
    fn an_expired_token_is_refused_even_when_cached() {
        let codec = codec(16);
        let c = claims(Duration::minutes(5));
        let token = mint(&codec, &c);
        assert!(codec.verify(&token, c.expires_at - Duration::seconds(1)).is_ok());
        assert_eq!(codec.cached_len(), 1);
        // Same boundary as the biscuit check: expired at `expires_at` itself, and after.
        assert_eq!(codec.verify(&token, c.expires_at), Err(TokenError::Expired));
        assert_eq!(
            codec.verify(&token, c.expires_at + Duration::milliseconds(1)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            codec.verify(&token, c.expires_at + Duration::days(1)),
            Err(TokenError::Expired)
        );
        // The first expired hit was answered (and dropped) by the cache; the real codec refused the rest.
        assert_eq!(calls(&codec), 3);
        assert_eq!(codec.cached_len(), 0);
    }

    #[test]
    fn a_tampered_token_is_never_served_from_the_cache() {
        let codec = codec(16);
        let plain = BiscuitCodec::from_secret(SECRET);
        let token = mint(&codec, &claims(Duration::hours(1)));
        codec.verify(&token, Utc::now()).expect("genuine token verifies");
        let mut variants = vec![format!("{token}A"), token[..token.len() - 1].to_owned(), String::new()];
        for i in [0, 10, token.len() / 2, token.len() - 2] {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            // Inside the signed payload: the real codec refuses it.
            assert_eq!(
                plain.verify(&tampered, Utc::now()),
                Err(TokenError::Invalid),
                "byte {i}"
            );
            variants.push(tampered);
        }
        for (n, variant) in variants.iter().enumerate() {
            // Each one reaches the real codec, and the cache gives exactly its answer.
            assert_eq!(
                codec.verify(variant, Utc::now()),
                plain.verify(variant, Utc::now()),
                "{variant:?}"
            );
            assert_eq!(calls(&codec), 2 + n);
        }
    }

    #[test]
    fn a_token_from_another_key_is_refused_after_ours_was_cached() {
        let codec = codec(16);
        let c = claims(Duration::hours(1));
        codec.verify(&mint(&codec, &c), Utc::now()).unwrap();
        // Same claims, another signer: a different string, checked by the real codec.
        let forged = mint(&BiscuitCodec::from_secret(b"another secret key, 32 bytes or more"), &c);
        assert_eq!(codec.verify(&forged, Utc::now()), Err(TokenError::Invalid));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let codec = codec(4);
        let tokens: Vec<_> = (0..10).map(|_| mint(&codec, &claims(Duration::hours(1)))).collect();
        for t in &tokens {
            codec.verify(t, Utc::now()).unwrap();
            assert!(codec.cached_len() <= 4);
        }
        // Evicted tokens verify again, through the real codec.
        assert!(codec.verify(&tokens[0], Utc::now()).is_ok());
    }

    #[test]
    fn expired_entries_are_evicted_first() {
        let codec = codec(2);
        let now = Utc::now();
        let short = mint(&codec, &claims(Duration::seconds(10)));
        let long = mint(&codec, &claims(Duration::hours(1)));
        codec.verify(&short, now).unwrap();
        codec.verify(&long, now).unwrap();
        let later = now + Duration::minutes(1);
        let third = mint(&codec, &claims(Duration::hours(2)));
        codec.verify(&third, later).unwrap();
        assert_eq!(codec.cached_len(), 2);
        let before = calls(&codec);
        codec.verify(&long, later).unwrap();
        assert_eq!(calls(&codec), before, "the unexpired entry survived the eviction");
    }
}

//! The biscuit [`TokenCodec`].

use crate::keys::{self, KeyError};
use biscuit_auth::builder::Term;
use biscuit_auth::error::{Logic, Token as BiscuitError};
use biscuit_auth::macros::{authorizer, biscuit};
use biscuit_auth::{AuthorizerLimits, Biscuit, KeyPair};
use chrono::{DateTime, Utc};
use meai_core::UserId;
use meai_core::session::{SessionClaims, SessionToken, TokenCodec, TokenError, TokenId};
use std::time::{Duration, SystemTime};

/// Signs session tokens with an Ed25519 root key and verifies them with its public half.
///
/// Times are carried as datalog dates, i.e. whole seconds: verified claims are the minted ones
/// truncated to the second (a token thus expires up to a second early, never late).
pub struct BiscuitCodec {
    root: KeyPair,
}

impl BiscuitCodec {
    /// Derives the root key from a shared secret (SECRET_KEY), so every instance with the same
    /// secret accepts the same tokens and changing the secret invalidates all of them.
    /// The secret's strength is the tokens' strength: configuration should demand a long random one.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            root: keys::derive(secret),
        }
    }

    /// Uses an explicit Ed25519 private key (64 hex digits, or biscuit's `ed25519-private/<hex>`).
    pub fn from_private_key_hex(hex: &str) -> Result<Self, KeyError> {
        Ok(Self {
            root: keys::parse_private_hex(hex)?,
        })
    }
}

impl std::fmt::Debug for BiscuitCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BiscuitCodec { root: <redacted> }")
    }
}

/// The authorizer's run budget. Our datalog is tiny, but the default 1 ms deadline is tight
/// enough to fail spuriously on a loaded machine.
const LIMITS: AuthorizerLimits = AuthorizerLimits {
    max_facts: 100,
    max_iterations: 10,
    max_time: Duration::from_millis(100),
};

impl TokenCodec for BiscuitCodec {
    fn mint(&self, claims: &SessionClaims) -> Result<SessionToken, TokenError> {
        let signing = |e: BiscuitError| TokenError::Signing(e.to_string());
        let token = biscuit!(
            r#"
            user({user_id});
            token_id({token_id});
            issued_at({issued_at});
            expires_at({expires_at});
            check if time($now), $now < {expires_at};
            "#,
            user_id = claims.user_id.0,
            token_id = claims.token_id.as_str(),
            issued_at = date(claims.issued_at)?,
            expires_at = date(claims.expires_at)?,
        )
        .build(&self.root)
        .map_err(signing)?;
        // `to_base64` is the URL-safe alphabet: fit for a cookie as is.
        Ok(SessionToken::new(token.to_base64().map_err(signing)?))
    }

    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<SessionClaims, TokenError> {
        let token = Biscuit::from_base64(token.trim(), self.root.public()).map_err(|_| TokenError::Invalid)?;
        // We mint single-block tokens; an appended (attenuation) block is nothing we issued.
        if token.block_count() != 1 {
            return Err(TokenError::Invalid);
        }
        let now = date(now).map_err(|_| TokenError::Invalid)?;
        // The authorizer repeats the expiry check so that it holds even without the token's own.
        let mut authorizer = authorizer!(
            r#"
            time({now});
            check if time($now), expires_at($exp), $now < $exp;
            allow if user($u), token_id($t), issued_at($i), expires_at($e);
            "#,
            now = now,
        )
        .set_limits(LIMITS)
        .build(&token)
        .map_err(|_| TokenError::Invalid)?;

        match authorizer.authorize() {
            Ok(_) => {}
            // The only checks in play are the expiry checks.
            Err(BiscuitError::FailedLogic(Logic::Unauthorized { checks, .. } | Logic::NoMatchingPolicy { checks }))
                if !checks.is_empty() =>
            {
                return Err(TokenError::Expired);
            }
            Err(_) => return Err(TokenError::Invalid),
        }

        let (user_id, token_id, issued_at, expires_at): (i64, String, SystemTime, SystemTime) = authorizer
            .query_exactly_one("claims($u, $t, $i, $e) <- user($u), token_id($t), issued_at($i), expires_at($e)")
            .map_err(|_| TokenError::Invalid)?;
        Ok(SessionClaims {
            user_id: UserId(user_id),
            token_id: TokenId::new(token_id),
            issued_at: issued_at.into(),
            expires_at: expires_at.into(),
        })
    }
}

/// A datalog date (whole seconds since the epoch); biscuit has none before 1970.
fn date(t: DateTime<Utc>) -> Result<Term, TokenError> {
    u64::try_from(t.timestamp())
        .map(Term::Date)
        .map_err(|_| TokenError::Signing("timestamp before 1970".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, SubsecRound, TimeZone};

    const SECRET: &[u8] = b"test secret key, at least 32 bytes long";

    fn claims(lifetime: Duration) -> SessionClaims {
        let now = Utc::now().trunc_subsecs(0);
        SessionClaims {
            user_id: UserId(42),
            token_id: crate::new_token_id(),
            issued_at: now,
            expires_at: now + lifetime,
        }
    }

    fn mint(codec: &BiscuitCodec, c: &SessionClaims) -> String {
        codec.mint(c).expect("mint").expose().to_owned()
    }

    #[test]
    fn round_trip() {
        let codec = BiscuitCodec::from_secret(SECRET);
        let c = claims(Duration::days(7));
        let token = mint(&codec, &c);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        );
        assert_eq!(codec.verify(&token, Utc::now()), Ok(c));
    }

    #[test]
    fn same_secret_means_same_key_across_instances() {
        let c = claims(Duration::hours(1));
        let token = mint(&BiscuitCodec::from_secret(SECRET), &c);
        assert_eq!(BiscuitCodec::from_secret(SECRET).verify(&token, Utc::now()), Ok(c));
    }

    #[test]
    fn sub_second_times_are_truncated() {
        let codec = BiscuitCodec::from_secret(SECRET);
        let issued = Utc.timestamp_opt(1_900_000_000, 700_000_000).unwrap();
        let c = SessionClaims {
            user_id: UserId(1),
            token_id: TokenId::new("t"),
            issued_at: issued,
            expires_at: issued + Duration::hours(1),
        };
        let back = codec.verify(&mint(&codec, &c), issued).unwrap();
        assert_eq!(back.issued_at, issued.trunc_subsecs(0));
        assert_eq!(back.expires_at, c.expires_at.trunc_subsecs(0));
    }

    #[test]
    fn expired() {
        let codec = BiscuitCodec::from_secret(SECRET);
        let c = claims(Duration::minutes(5));
        let token = mint(&codec, &c);
        assert_eq!(codec.verify(&token, c.expires_at), Err(TokenError::Expired));
        assert_eq!(
            codec.verify(&token, c.expires_at + Duration::days(1)),
            Err(TokenError::Expired)
        );
        assert!(codec.verify(&token, c.expires_at - Duration::seconds(1)).is_ok());
    }

    #[test]
    fn tampered() {
        let codec = BiscuitCodec::from_secret(SECRET);
        let token = mint(&codec, &claims(Duration::hours(1)));
        let mut bytes = token.into_bytes();
        // Flip one byte in the middle (inside the signed payload), staying in the base64url alphabet.
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(codec.verify(&tampered, Utc::now()), Err(TokenError::Invalid));
    }

    #[test]
    fn signed_by_another_key() {
        let ours = BiscuitCodec::from_secret(SECRET);
        let theirs = BiscuitCodec { root: KeyPair::new() };
        let token = mint(&theirs, &claims(Duration::hours(1)));
        assert_eq!(ours.verify(&token, Utc::now()), Err(TokenError::Invalid));
    }

    #[test]
    fn garbage() {
        let codec = BiscuitCodec::from_secret(SECRET);
        for junk in ["", "not a token", "AAAA", "eyJhbGciOiJIUzI1NiJ9.e30.x", "%%%"] {
            assert_eq!(codec.verify(junk, Utc::now()), Err(TokenError::Invalid), "{junk:?}");
        }
    }

    #[test]
    fn rotated_secret_invalidates_old_tokens() {
        let token = mint(&BiscuitCodec::from_secret(SECRET), &claims(Duration::hours(1)));
        let rotated = BiscuitCodec::from_secret(b"a brand new secret key, also long enough");
        assert_eq!(rotated.verify(&token, Utc::now()), Err(TokenError::Invalid));
    }

    #[test]
    fn attenuated_tokens_are_refused() {
        let codec = BiscuitCodec::from_secret(SECRET);
        let token = mint(&codec, &claims(Duration::hours(1)));
        let parsed = Biscuit::from_base64(&token, codec.root.public()).unwrap();
        let appended = parsed.append(biscuit_auth::macros::block!("user(1);")).unwrap();
        assert_eq!(
            codec.verify(&appended.to_base64().unwrap(), Utc::now()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn private_key_hex() {
        let key = KeyPair::new().private();
        let hex = key.to_bytes_hex();
        let a = BiscuitCodec::from_private_key_hex(&hex).unwrap();
        let b = BiscuitCodec::from_private_key_hex(&format!("ed25519-private/{hex}\n")).unwrap();
        let c = claims(Duration::hours(1));
        assert_eq!(b.verify(&mint(&a, &c), Utc::now()), Ok(c));
        assert_eq!(
            BiscuitCodec::from_private_key_hex("zz").unwrap_err(),
            KeyError::InvalidPrivateKey
        );
        assert_eq!(
            BiscuitCodec::from_private_key_hex("abcd").unwrap_err(),
            KeyError::InvalidPrivateKey
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let hex = KeyPair::new().private().to_bytes_hex();
        let codec = BiscuitCodec::from_private_key_hex(&hex).unwrap();
        let shown = format!("{codec:?}");
        assert!(!shown.contains(&hex) && shown.contains("redacted"));
    }
}

//! When and how long to wait before sending a failed request again.

use meai_core::model::ModelError;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Exponential backoff for transient failures, honouring the provider's `Retry-After`.
///
/// Chat answers are retried only until their first content arrives (see
/// [`crate::GenaiChatModel`]); embeddings are retried as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub base_delay: Duration,
    /// No wait is longer; a `Retry-After` beyond it is not waited for (the error is returned).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// How long to wait before attempt `failed_attempts + 1`, or `None` to give up.
    pub fn delay_after(&self, failed_attempts: u32, error: &ModelError) -> Option<Duration> {
        if failed_attempts >= self.max_attempts || !error.is_retryable() {
            return None;
        }
        if let ModelError::RateLimited {
            retry_after: Some(hint),
        } = error
        {
            return (*hint <= self.max_delay).then_some(*hint);
        }
        let exponent = failed_attempts.saturating_sub(1).min(16);
        let backoff = self.base_delay.saturating_mul(1 << exponent).min(self.max_delay);
        Some(jitter(backoff))
    }
}

/// Spreads retries of many clients over `[d/2, d]` so they do not hit the provider in step.
fn jitter(delay: Duration) -> Duration {
    // RandomState is seeded randomly per instance: a source of randomness without a dependency.
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let fraction = 0.5 + (random % 1000) as f64 / 2000.0;
    delay.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16) -> ModelError {
        ModelError::Upstream {
            status: Some(status),
            message: String::new(),
        }
    }

    #[test]
    fn backs_off_exponentially_within_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(3),
        };
        let first = policy.delay_after(1, &upstream(500)).unwrap();
        assert!(
            first >= Duration::from_millis(500) && first <= Duration::from_secs(1),
            "{first:?}"
        );
        let second = policy.delay_after(2, &upstream(500)).unwrap();
        assert!(
            second >= Duration::from_secs(1) && second <= Duration::from_secs(2),
            "{second:?}"
        );
        let capped = policy.delay_after(4, &upstream(503)).unwrap();
        assert!(capped <= Duration::from_secs(3), "{capped:?}");
    }

    #[test]
    fn gives_up_after_the_last_attempt_or_on_permanent_errors() {
        let policy = RetryPolicy::default();
        assert!(policy.delay_after(3, &upstream(500)).is_none());
        assert!(policy.delay_after(1, &upstream(401)).is_none());
        assert!(policy.delay_after(1, &ModelError::InvalidRequest("x".into())).is_none());
    }

    #[test]
    fn honours_retry_after_unless_it_is_too_long() {
        let policy = RetryPolicy::default();
        let hinted = ModelError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(policy.delay_after(1, &hinted), Some(Duration::from_secs(2)));
        let too_long = ModelError::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(policy.delay_after(1, &too_long), None);
    }
}

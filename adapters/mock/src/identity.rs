//! [`MockIdentity`]: the Identity port without a provider: every login finishes with the
//! configured profile, or with the error queued by [`MockIdentity::fail_next`].

use chrono::{DateTime, Duration, Utc};
use meai_core::identity::{AuthorizationRequest, Identity, IdentityError};
use meai_core::{NewUser, PendingLogin};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Where [`MockIdentity`] sends browsers; the `state` query parameter is the pending login's.
pub const AUTHORIZE_URL: &str = "https://identity.test/authorize";

#[derive(Debug, Clone)]
pub struct MockIdentity {
    profile: NewUser,
    state: Arc<Mutex<State>>,
    next: Arc<AtomicU64>,
}

#[derive(Debug, Default)]
struct State {
    failures: VecDeque<IdentityError>,
    /// `(code, state)` of every exchange, in order.
    exchanges: Vec<(String, String)>,
}

impl MockIdentity {
    pub fn new(profile: NewUser) -> Self {
        Self {
            profile,
            state: Arc::default(),
            next: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next exchange fails with `error` (queued: one exchange per pushed error).
    pub fn fail_next(&self, error: IdentityError) {
        self.lock().failures.push_back(error);
    }

    /// `(code, state)` of every exchange so far.
    pub fn exchanges(&self) -> Vec<(String, String)> {
        self.lock().exchanges.clone()
    }
}

#[async_trait::async_trait]
impl Identity for MockIdentity {
    fn authorize(&self, return_to: Option<String>, now: DateTime<Utc>) -> AuthorizationRequest {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let state = format!("state-{n}-{}", now.timestamp_micros());
        AuthorizationRequest {
            url: format!("{AUTHORIZE_URL}?state={state}"),
            login: PendingLogin {
                state,
                pkce_verifier: format!("verifier-{n}"),
                nonce: format!("nonce-{n}"),
                return_to,
                expires_at: now + Duration::minutes(10),
            },
        }
    }

    async fn exchange(&self, code: &str, login: &PendingLogin) -> Result<NewUser, IdentityError> {
        let mut s = self.lock();
        s.exchanges.push((code.to_owned(), login.state.clone()));
        match s.failures.pop_front() {
            Some(e) => Err(e),
            None => Ok(self.profile.clone()),
        }
    }
}

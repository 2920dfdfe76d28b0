//! Abuse limits at the edge: messages per user per minute, sign-in requests per client IP per
//! minute, and answers generated at once per user. (The body size limit is
//! `http::middleware::BodyLimit`; the message length is checked by the core's turn, from
//! `MAX_MESSAGE_CHARS`.)
//!
//! The rate limits are GCRA (the `governor` crate): a full minute's quota may be used as a burst,
//! then it refills evenly. They are per instance: behind a load balancer spreading requests over
//! N instances a client gets up to N times the quota, which is acceptable for abuse protection
//! (the point is bounding cost, not billing) and needs no Redis round trip per message.

use crate::config::Config;
use crate::metrics::metrics;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use meai_core::UserId;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a message or request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("Too many messages: try again in {} seconds", retry_secs(*retry_after))]
    MessageRate { retry_after: Duration },
    #[error("Too many requests: try again in {} seconds", retry_secs(*retry_after))]
    AuthRate { retry_after: Duration },
    #[error("Too many answers are being generated at once (at most {max}): wait for one to finish or stop it")]
    ConcurrentRuns { max: u32 },
}

/// Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry.
fn retry_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Refused {
    /// The `Retry-After` value, in seconds.
    pub fn retry_after_secs(&self) -> u64 {
        match self {
            Self::MessageRate { retry_after } | Self::AuthRate { retry_after } => retry_secs(*retry_after).max(1),
            // No way to know when an answer ends; a short hint.
            Self::ConcurrentRuns { .. } => 5,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Self::MessageRate { .. } => "message_rate",
            Self::AuthRate { .. } => "auth_rate",
            Self::ConcurrentRuns { .. } => "concurrent_runs",
        }
    }
}

pub struct Limits {
    messages: Option<DefaultKeyedRateLimiter<i64>>,
    auth: Option<DefaultKeyedRateLimiter<IpAddr>>,
    max_runs: u32,
    running: Mutex<HashMap<UserId, u32>>,
    trust_forwarded_for: bool,
}

fn per_minute<K: std::hash::Hash + Eq + Clone>(n: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

/// Keyed limiters keep a cell per key; forget idle ones now and then.
fn prune<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>) {
    if limiter.len() > 10_000 {
        limiter.retain_recent();
    }
}

impl Limits {
    pub fn new(config: &Config) -> Self {
        Self {
            messages: per_minute(config.message_rate_per_minute),
            auth: per_minute(config.auth_rate_per_minute),
            max_runs: config.max_concurrent_runs_per_user,
            running: Mutex::default(),
            trust_forwarded_for: config.trust_forwarded_for,
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, u32>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits one message of `user`: within the rate and the concurrent answers. The permit
    /// counts as a running answer until dropped: hold it for the whole turn
    /// ([`RunPermit::guard`]).
    pub fn admit_message(self: &Arc<Self>, user: UserId) -> Result<RunPermit, Refused> {
        let result = self.try_admit(user);
        if let Err(r) = &result {
            metrics().rate_limited.with_label_values(&[r.label()]).inc();
            tracing::info!(user_id = %user, reason = r.label(), "message refused by a limit");
        }
        result
    }

    fn try_admit(self: &Arc<Self>, user: UserId) -> Result<RunPermit, Refused> {
        // Concurrency first: a refused message should not also eat into the rate.
        let mut running = self.running();
        let now = running.get(&user).copied().unwrap_or(0);
        if self.max_runs > 0 && now >= self.max_runs {
            return Err(Refused::ConcurrentRuns { max: self.max_runs });
        }
        if let Some(limiter) = &self.messages {
            prune(limiter);
            limiter.check_key(&user.0).map_err(|not_until| Refused::MessageRate {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })?;
        }
        *running.entry(user).or_insert(0) += 1;
        Ok(RunPermit {
            limits: self.clone(),
            user,
        })
    }

    /// Checks one sign-in request from `ip`.
    pub fn check_auth(&self, ip: IpAddr) -> Result<(), Refused> {
        let Some(limiter) = &self.auth else {
            return Ok(());
        };
        prune(limiter);
        limiter.check_key(&ip).map_err(|not_until| {
            let r = Refused::AuthRate {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            };
            metrics().rate_limited.with_label_values(&[r.label()]).inc();
            r
        })
    }

    /// The client's IP: the peer, or the first `X-Forwarded-For` hop when configured to trust it.
    fn client_ip(&self, req: &Request) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            let forwarded = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        req.remote_addr().as_socket_addr().map(|a| a.ip())
    }
}

/// A running answer of a user, counted until dropped.
pub struct RunPermit {
    limits: Arc<Limits>,
    user: UserId,
}

impl RunPermit {
    /// Holds the permit while `work` runs.
    pub async fn guard<F: std::future::Future>(self, work: F) -> F::Output {
        let _permit = self;
        work.await
    }
}

impl Drop for RunPermit {
    fn drop(&mut self) {
        let mut running = self.limits.running();
        if let Some(n) = running.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.user);
            }
        }
    }
}

/// A 429 with `Retry-After` and the usual `{"detail": ...}` body.
pub fn too_many_requests(refused: &Refused) -> Response {
    let mut resp = poem::web::Json(serde_json::json!({"detail": refused.to_string()}))
        .with_status(StatusCode::TOO_MANY_REQUESTS)
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&refused.retry_after_secs().to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The sign-in flow: where credential stuffing and OAuth-state flooding would go. The other
/// `/auth/*` operations (`me`, `token`, `logout`) need a session already and are ordinary use:
/// limiting them per IP would lock out everyone behind one NAT.
pub const SIGN_IN_PATHS: [&str; 2] = ["/auth/google", "/auth/google/callback"];

fn is_sign_in(path: &str) -> bool {
    SIGN_IN_PATHS.contains(&path.trim_end_matches('/'))
}

/// Limits requests to the sign-in flow per client IP.
pub struct AuthRateLimit(pub Arc<Limits>);

impl<E: Endpoint> Middleware<E> for AuthRateLimit {
    type Output = AuthRateLimitEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        AuthRateLimitEndpoint {
            inner,
            limits: self.0.clone(),
        }
    }
}

pub struct AuthRateLimitEndpoint<E> {
    inner: E,
    limits: Arc<Limits>,
}

impl<E: Endpoint> Endpoint for AuthRateLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if is_sign_in(req.uri().path())
            && let Some(ip) = self.limits.client_ip(&req)
            && let Err(refused) = self.limits.check_auth(ip)
        {
            return Ok(too_many_requests(&refused));
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(vars: &[(&str, &str)]) -> Arc<Limits> {
        let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Arc::new(Limits::new(&Config::from_vars(vars).unwrap()))
    }

    #[test]
    fn messages_are_rate_limited_per_user() {
        let l = limits(&[("MESSAGE_RATE_PER_MINUTE", "2"), ("MAX_CONCURRENT_RUNS_PER_USER", "0")]);
        let (a, b) = (UserId(1), UserId(2));
        drop(l.admit_message(a).unwrap());
        drop(l.admit_message(a).unwrap());
        let refused = l.admit_message(a).err().unwrap();
        assert!(matches!(refused, Refused::MessageRate { .. }));
        assert!((1..=30).contains(&refused.retry_after_secs()), "{refused:?}");
        assert!(l.admit_message(b).is_ok(), "other users are independent");
    }

    #[test]
    fn concurrent_runs_are_counted_until_the_permit_drops() {
        let l = limits(&[("MESSAGE_RATE_PER_MINUTE", "0"), ("MAX_CONCURRENT_RUNS_PER_USER", "2")]);
        let u = UserId(1);
        let p1 = l.admit_message(u).unwrap();
        let _p2 = l.admit_message(u).unwrap();
        assert_eq!(l.admit_message(u).err(), Some(Refused::ConcurrentRuns { max: 2 }));
        drop(p1);
        assert!(l.admit_message(u).is_ok());
    }

    #[test]
    fn auth_is_rate_limited_per_ip() {
        let l = limits(&[("AUTH_RATE_PER_MINUTE", "1")]);
        let (x, y): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(l.check_auth(x).is_ok());
        assert!(l.check_auth(x).is_err());
        assert!(l.check_auth(y).is_ok());
    }

    #[test]
    fn only_the_sign_in_flow_counts_as_sign_in() {
        for path in ["/auth/google", "/auth/google/", "/auth/google/callback"] {
            assert!(is_sign_in(path), "{path}");
        }
        for path in [
            "/auth/me",
            "/auth/logout",
            "/auth/token",
            "/auth",
            "/conversations",
            "/auth/googlex",
        ] {
            assert!(!is_sign_in(path), "{path}");
        }
    }

    #[test]
    fn zero_disables_a_limit() {
        let l = limits(&[("MESSAGE_RATE_PER_MINUTE", "0"), ("MAX_CONCURRENT_RUNS_PER_USER", "0")]);
        let permits: Vec<_> = (0..100).map(|_| l.admit_message(UserId(1)).unwrap()).collect();
        assert_eq!(permits.len(), 100);
    }
}

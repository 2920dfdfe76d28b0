//! Run registries for assistant turns, and session notices: what several instances share.
//!
//! [`LocalRuns`] keeps runs in this process: a tokio broadcast channel per run for live
//! listeners and a bounded replay log kept a short while after the run ends, so a client that
//! reconnects can catch up. Several instances behind a load balancer share [`redis::RedisRuns`]
//! (cargo feature `redis`), which implements the same port. [`LocalNotices`] and
//! [`redis::RedisNotices`] carry "a session ended" the same way.

mod local;
mod notices;
#[cfg(feature = "redis")]
pub mod redis;

pub use local::{LocalRuns, LocalRunsConfig};
pub use notices::LocalNotices;

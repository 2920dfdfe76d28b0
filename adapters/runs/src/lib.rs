//! Run registries for assistant turns.
//!
//! [`LocalRuns`] keeps runs in this process: a tokio broadcast channel per run for live
//! listeners and a bounded replay log kept a short while after the run ends, so a client that
//! reconnects can catch up. Several instances behind a load balancer share [`redis::RedisRuns`]
//! (cargo feature `redis`), which implements the same port.

mod local;
#[cfg(feature = "redis")]
pub mod redis;

pub use local::{LocalRuns, LocalRunsConfig};

//! What running several instances and operating them needs at the edge, in one handle of the
//! application state: the run registry as this instance tracks it, the limits, and the
//! Socket.IO server (to close its sockets on shutdown).

use crate::config::{Config, ConfigError};
use crate::limits::Limits;
use crate::runs::TrackedRuns;
use meai_core::session::SessionNotices;
use meai_core::turn::RunRegistry;
use meai_runs::{LocalNotices, LocalRuns};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[derive(Clone)]
pub struct Ops {
    pub runs: TrackedRuns,
    pub limits: Arc<Limits>,
    sockets: Arc<OnceLock<socketioxide::SocketIo>>,
}

impl Ops {
    pub fn new(config: &Config, runs: Arc<dyn RunRegistry>) -> Self {
        Self {
            runs: TrackedRuns::new(runs),
            limits: Arc::new(Limits::new(config)),
            sockets: Arc::default(),
        }
    }

    /// The registry the turn uses.
    pub fn registry(&self) -> Arc<dyn RunRegistry> {
        Arc::new(self.runs.clone())
    }

    /// Registers the Socket.IO server of this application (once).
    pub fn set_sockets(&self, io: socketioxide::SocketIo) {
        let _ = self.sockets.set(io);
    }

    pub fn sockets(&self) -> Option<&socketioxide::SocketIo> {
        self.sockets.get()
    }

    /// The end of a graceful shutdown, after the listener stopped accepting: lets active runs
    /// finish for up to `grace`, stops the rest (partial answers are persisted and every
    /// listener gets `last_chunk`), then closes the sockets.
    pub async fn shutdown(&self, grace: Duration) {
        let drained = self.runs.drain(grace, Duration::from_secs(10)).await;
        tracing::info!(finished = drained.finished, stopped = drained.stopped, "runs drained");
        if let Some(io) = self.sockets() {
            // Give the last events a moment to leave the sockets' buffers before closing them.
            tokio::time::sleep(Duration::from_millis(200)).await;
            io.close().await;
        }
    }
}

/// The prefix of every Redis key and channel.
#[cfg(feature = "redis")]
fn redis_prefix(config: &Config) -> String {
    let prefix = config.redis_key_prefix.as_deref().filter(|p| !p.is_empty());
    prefix
        .unwrap_or(&meai_runs::redis::RedisRunsConfig::default().prefix)
        .to_owned()
}

/// Where ended sessions are announced: Redis with `REDIS_URL` (every instance hears them), else
/// in-process.
#[cfg(feature = "redis")]
pub fn notices(config: &Config) -> Result<Arc<dyn SessionNotices>, ConfigError> {
    match &config.redis_url {
        Some(url) => Ok(Arc::new(
            meai_runs::redis::RedisNotices::new(url.expose(), &redis_prefix(config))
                .map_err(|e| ConfigError::new(format!("REDIS_URL: {e}")))?,
        )),
        None => Ok(Arc::new(LocalNotices::default())),
    }
}

#[cfg(not(feature = "redis"))]
pub fn notices(_config: &Config) -> Result<Arc<dyn SessionNotices>, ConfigError> {
    // Without Redis support `registry` refuses REDIS_URL, so one instance is all there is.
    Ok(Arc::new(LocalNotices::default()))
}

/// The run registry configuration names: Redis with `REDIS_URL`, else in-process.
#[cfg(feature = "redis")]
pub fn registry(config: &Config) -> Result<Arc<dyn RunRegistry>, ConfigError> {
    use meai_runs::redis::{RedisRuns, RedisRunsConfig};
    match &config.redis_url {
        Some(url) => {
            let settings = RedisRunsConfig {
                prefix: redis_prefix(config),
                ..Default::default()
            };
            let runs =
                RedisRuns::new(url.expose(), settings).map_err(|e| ConfigError::new(format!("REDIS_URL: {e}")))?;
            tracing::info!("runs are shared through Redis");
            Ok(Arc::new(runs))
        }
        None => Ok(Arc::new(LocalRuns::default())),
    }
}

#[cfg(not(feature = "redis"))]
pub fn registry(config: &Config) -> Result<Arc<dyn RunRegistry>, ConfigError> {
    if config.redis_url.is_some() {
        return Err(ConfigError::new(
            "REDIS_URL is set but this build has no Redis support (build with the `redis` feature)",
        ));
    }
    Ok(Arc::new(LocalRuns::default()))
}

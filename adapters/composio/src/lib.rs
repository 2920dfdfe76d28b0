//! The Toolkits port over Composio's REST API (no Rust SDK exists), following
//! `reference/composio-api.md`: `x-api-key` auth, `/api/v3` (or `/api/v3.1`) paths, tool
//! versions pinned to `latest`, Connect Link for new connections (with the legacy endpoint as
//! fallback), bounded retries honouring `Retry-After`, `successful: false` as a failure, and
//! tool specs cached per toolkit.

mod cache;
mod client;
mod config;
mod toolkits;
mod wire;

pub use config::{ComposioConfig, DEFAULT_API_PREFIX, DEFAULT_BASE_URL};
pub use toolkits::ComposioToolkits;

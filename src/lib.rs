//! The meAI server: configuration, wiring of adapters to the core, and the HTTP edge.

pub mod config;
pub mod http;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod ops;
pub mod runs;
pub mod socket;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod toolkits;
pub mod turns;

pub use config::Config;
pub use startup::{Server, build_state};

//! The meAI server: configuration, wiring of adapters to the core, and the HTTP edge.

pub mod adapters;
pub mod config;
pub mod consent;
pub mod failure;
pub mod http;
pub mod limits;
pub mod mcp;
pub mod memory;
pub mod metrics;
pub mod ops;
pub mod recovery;
pub mod runs;
pub mod serve;
pub mod sign_in;
pub mod socket;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod toolkits;
pub mod turn_start;
pub mod turns;

pub use adapters::Adapters;
pub use config::Config;
pub use startup::{Server, assemble, build_state};

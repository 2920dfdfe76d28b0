//! meAI's pure core: the domain, the ports it needs from the outside world, and the use cases.
//!
//! Nothing in here knows about HTTP, SQL or any provider; adapters implement the ports.

pub mod archive;
pub mod consent;
pub mod domain;
pub mod error;
pub mod identity;
pub mod mcp;
pub mod memory;
pub mod model;
pub mod service;
pub mod session;
pub mod store;
pub mod toolkits;
pub mod turn;

#[cfg(feature = "contract")]
pub mod contract;

pub use domain::*;
pub use error::CoreError;
pub use store::{Store, StoreError};

//! The assistant turn: a human message in, a streamed answer out, everything persisted.
//!
//! A turn runs server-side as a *run* keyed by its conversation ([`RunRegistry`]), not tied to
//! the socket or request that started it: listeners attach and detach freely, and `stop`
//! reaches the run wherever it executes.

mod events;
mod runs;

#[cfg(feature = "contract")]
pub mod contract;

pub use events::{RunEvent, TurnEvent};
pub use runs::{Attachment, RunError, RunId, RunRegistry, RunWriter};

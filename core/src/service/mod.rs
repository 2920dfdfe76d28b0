//! Use cases: what the edges (HTTP, sockets, CLI) call.

mod conversations;
mod sessions;

pub use conversations::Conversations;
pub use sessions::{SessionPolicy, Sessions};

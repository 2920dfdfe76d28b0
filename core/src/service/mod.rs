//! Use cases: what the edges (HTTP, sockets, CLI) call.

mod conversations;
mod logins;
mod sessions;

pub use conversations::Conversations;
pub use logins::{LoginError, Logins};
pub use sessions::{SessionPolicy, Sessions};

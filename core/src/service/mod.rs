//! Use cases: what the edges (HTTP, sockets, CLI) call.

mod account;
mod conversations;
mod logins;
mod sessions;
mod usage;

pub use account::{AccountDeletion, DeletedAccount, DeletionError, EndSessions};
pub use conversations::Conversations;
pub use logins::{LoginError, Logins};
pub use sessions::{SessionPolicy, Sessions};
pub use usage::{MAX_USAGE_DAYS, Price, UsageGroup, UsageLine, UsageReport, UsageReports, reported_range};

//! Timestamps as the database keeps them.

use chrono::{DateTime, SubsecRound, Utc};

/// `t` at the precision every backend stores (PostgreSQL keeps microseconds), so a value
/// written and read back compares equal on SQLite and PostgreSQL alike.
pub(crate) fn stored(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The current time, at stored precision.
pub(crate) fn now() -> DateTime<Utc> {
    stored(Utc::now())
}

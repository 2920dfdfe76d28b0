//! Port contract suites, written once and run against every adapter.
//!
//! An adapter crate runs a suite with the matching macro, giving an async factory that returns
//! `Some(handle)` (anything that derefs to the adapter) or `None` to report the suite as skipped,
//! e.g. when the database server it needs was not configured.

pub mod store;

//! Port contract suites, written once and run against every adapter.
//!
//! An adapter crate runs a suite with the matching macro, giving an async factory that returns
//! a handle (anything that derefs to the adapter). A suite never skips itself: a factory whose
//! backend is missing fails the case, naming what to start (see `meai_testkit::need`).

pub mod consent;
pub mod data;
pub mod notices;
pub mod source;
pub mod store;
pub mod tree;

//! In-memory versions of meAI's ports, for fast tests of the core and the HTTP layer.
//!
//! Each mirrors the semantics its port's contract suite pins down, so a test that passes
//! against a mock says something about the real adapters too.

pub mod model;
mod store;

pub use store::MemoryStore;

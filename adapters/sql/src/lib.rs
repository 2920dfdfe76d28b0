//! The SQL Store adapter: meAI's persistence on SQLite or PostgreSQL, through sea-orm.
//!
//! [`SqlStore::connect`] picks the backend from the URL scheme (each behind its cargo feature),
//! [`SqlStore::migrate`] applies `meai-migration`, and `SqlStore` implements every trait of the
//! [`meai_core::Store`] port. Driver errors never leave this crate: they become
//! [`meai_core::StoreError`]s here.

mod batch;
mod clock;
mod connect;
pub mod entity;
mod error;
mod list_cache;
mod mapping;
mod message_cache;
mod rows;
mod store;
mod tree;
mod tree_cache;
pub mod vectors;
mod write_gate;

pub use error::SqlError;
pub use store::SqlStore;
pub use vectors::SqlVectorIndex;

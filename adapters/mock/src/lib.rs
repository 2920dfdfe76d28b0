//! In-memory versions of every meAI port, for fast tests of the core and the HTTP layer.
//!
//! Each mirrors the semantics its port's contract suite pins down, so a test that passes
//! against a mock says something about the real adapters too. The run registry has no copy
//! here: the in-process one ([`LocalRuns`]) already lives in memory and is re-exported, and so
//! are the in-process session notices ([`LocalNotices`]).

mod identity;
mod index;
pub mod model;
mod sealer;
mod session;
mod source;
mod store;
mod toolkits;

pub use identity::{AUTHORIZE_URL, MockIdentity};
pub use index::MemoryIndex;
pub use meai_runs::{LocalNotices, LocalRuns};
pub use model::{HashEmbedder, Script, ScriptedChatModel};
pub use sealer::MockSealer;
pub use session::MemoryCodec;
pub use store::MemoryStore;
pub use toolkits::MockToolkits;

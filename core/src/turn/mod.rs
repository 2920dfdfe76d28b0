//! The assistant turn: a human message in, a streamed answer out, everything persisted.
//!
//! A turn runs server-side as a *run* keyed by its conversation ([`RunRegistry`]), not tied to
//! the socket or request that started it: listeners attach and detach freely, and `stop`
//! reaches the run wherever it executes. Steps (DESIGN.md, "The assistant turn"):
//! 1. the human message is stored first (idempotent on `client_message_id`);
//! 2. context: instructions naming the user's toolkits, the summary, recalled messages
//!    ([`Recall`], optional), the latest messages;
//! 3. one streamed model call per step; tool calls are announced (`tool` events), run in
//!    parallel ([`ToolExecutor`], optional), stored as `Tool` messages `[TOOL_SLUG] result` and
//!    fed back, up to [`TurnSettings::max_steps`]; calls the person's policies do not let run
//!    at once are stored as approvals and the run ends asking for a decision (`gate`), which
//!    later starts a new run ([`Turns::decide`], or a plain "yes");
//! 4. the answer is checkpointed while it streams and stored once at the end; an interrupted
//!    one is stored as far as it got, marked ([`STOPPED_MARK`], [`FAILED_MARK`], and
//!    [`LOST_MARK`] when its server died: see [`Turns::recover`]); the run always ends with
//!    `last_chunk`;
//! 5. then, in the background: title and summary, and memories extracted in that same call
//!    ([`MemoryKeeper`], optional).

mod background;
mod checkpoint;
mod context;
mod decide;
mod events;
mod gate;
mod recovery;
mod run;
mod runs;
mod service;
mod settings;
mod stages;
mod step;
mod stopping;
mod terminal;
mod timer;
mod tools;
mod upkeep;

#[cfg(feature = "contract")]
pub mod contract;

pub use context::{Recall, RecallError};
pub use events::{RunEvent, TurnEvent};
pub use recovery::{INSTANCE_LOST, LOST_MARK};
pub use run::{FAILED_MARK, NO_MODEL, STOPPED_MARK};
pub use runs::{Attachment, RunError, RunId, RunRegistry, RunStarted, RunWriter};
pub use service::{Ask, BUSY, StartedTurn, TurnRequest, Turns, TurnsBuilder};
pub use settings::TurnSettings;
pub(crate) use stages::timed;
pub use stages::{Stage, StageTimes};
pub use terminal::{ANSWER_LOST, with_end};
pub use timer::Timer;
pub use tools::{ToolError, ToolExecutor};
pub use upkeep::MemoryKeeper;

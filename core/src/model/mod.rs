//! The model ports: a chat model that streams answers and calls tools, and an embedder.
//!
//! Provider-neutral: adapters translate these types to a provider's wire format and back, and
//! map every provider failure onto [`ModelError`].

mod channel;
mod chat;
mod choice;
mod completion;
mod embedder;
mod error;
mod event;
mod message;
mod request;
mod tool;

pub use channel::{ChatEventSender, chat_channel, stream_of};
pub use chat::ChatModel;
pub use choice::{ModelChoice, ModelList};
pub use completion::Completion;
pub use embedder::Embedder;
pub use error::ModelError;
pub use event::{ChatEvent, ChatStream, FinishReason};
pub use message::ChatMessage;
pub use request::ChatRequest;
pub use tool::{ToolCall, ToolHints, ToolSpec, toolkit_of};

//! Wire-level fakes of the services meAI talks to, served on 127.0.0.1 random ports.
//! They speak the real protocols so adapters are tested exactly as they run in production.

pub mod anthropic;
pub mod composio;
pub mod gemini;
pub mod need;
pub mod oidc;
pub mod openai;
#[cfg(feature = "qdrant")]
pub mod qdrant;

//! sea-orm entities, one per table of `meai-migration`'s schema. Hand-written to mirror the
//! migration (the migration is the source of truth; these never create tables).

pub mod answer_drafts;
pub mod conversations;
pub mod import_keys;
pub mod mcp_servers;
pub mod memories;
pub mod memory_extractions;
pub mod memory_settings;
pub mod messages;
pub mod pending_logins;
pub mod revoked_tokens;
pub mod session_cutoffs;
pub mod tool_actions;
pub mod tool_approvals;
pub mod tool_policies;
pub mod toolkit_connections;
pub mod users;

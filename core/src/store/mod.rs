//! The Store port: everything meAI persists.
//!
//! Every method that reads or changes a user's data takes that user's id, and a row owned by
//! someone else is reported exactly like a missing one ([`StoreError::NotFound`]), so isolation
//! holds no matter which handler calls the store.

mod account;
mod actions;
mod approvals;
mod archive;
mod connections;
mod conversations;
mod drafts;
mod error;
mod logins;
mod mcp_servers;
mod memories;
mod messages;
mod revocations;
mod session_cutoffs;
mod tool_policies;
mod usage;
mod users;

pub use account::{AccountStore, Removed};
pub use actions::ActionStore;
pub use approvals::ApprovalStore;
pub use archive::{ArchiveStore, ImportKey, Imported, ImportedConversation, ImportedMessage, ImportedParent};
pub use connections::ConnectionStore;
pub use conversations::ConversationStore;
pub use drafts::{Draft, DraftId, DraftStore};
pub use error::StoreError;
pub use logins::LoginStore;
pub use mcp_servers::McpServerStore;
pub use memories::{MemoryFactStore, Remembered};
pub use messages::MessageStore;
pub use revocations::RevocationStore;
pub use session_cutoffs::SessionCutoffStore;
pub use tool_policies::ToolPolicyStore;
pub use usage::UsageStore;
pub use users::UserStore;

/// The whole persistence port, as one object.
#[async_trait::async_trait]
pub trait Store:
    UserStore
    + ConversationStore
    + MessageStore
    + DraftStore
    + ConnectionStore
    + RevocationStore
    + LoginStore
    + MemoryFactStore
    + ArchiveStore
    + AccountStore
    + ToolPolicyStore
    + ApprovalStore
    + ActionStore
    + SessionCutoffStore
    + McpServerStore
    + UsageStore
    + Send
    + Sync
    + 'static
{
    /// Cheap liveness check of the backing database (for `/ready`).
    async fn ping(&self) -> Result<(), StoreError>;
}

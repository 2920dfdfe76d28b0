//! The Store port: everything meAI persists.
//!
//! Every method that reads or changes a user's data takes that user's id, and a row owned by
//! someone else is reported exactly like a missing one ([`StoreError::NotFound`]), so isolation
//! holds no matter which handler calls the store.

mod connections;
mod conversations;
mod error;
mod logins;
mod messages;
mod revocations;
mod session_cutoffs;
mod users;

pub use connections::ConnectionStore;
pub use conversations::ConversationStore;
pub use error::StoreError;
pub use logins::LoginStore;
pub use messages::MessageStore;
pub use revocations::RevocationStore;
pub use session_cutoffs::SessionCutoffStore;
pub use users::UserStore;

/// The whole persistence port, as one object.
#[async_trait::async_trait]
pub trait Store:
    UserStore
    + ConversationStore
    + MessageStore
    + ConnectionStore
    + RevocationStore
    + SessionCutoffStore
    + LoginStore
    + Send
    + Sync
    + 'static
{
    /// Cheap liveness check of the backing database (for `/ready`).
    async fn ping(&self) -> Result<(), StoreError>;
}

//! Deleting an account: everything of the person, everywhere, in an order that never strands
//! their data. Remote copies go first (Composio's connected accounts, then the vector index),
//! so a failure there leaves the account whole and the person can simply try again; then every
//! session ends; then every row goes, in one transaction; last the index is swept once more for
//! vectors a background indexer wrote meanwhile.

use crate::memory::{VectorError, VectorIndex};
use crate::store::Removed;
use crate::toolkits::{ToolkitError, Toolkits};
use crate::{CoreError, Store, StoreError, UserId};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The step where every session of the user ends, on every instance, and their live sockets
/// are disconnected. The edge provides it (it owns sessions and sockets).
#[async_trait::async_trait]
pub trait EndSessions: Send + Sync {
    async fn end_sessions(&self, user: UserId) -> Result<(), CoreError>;
}

/// What went, for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedAccount {
    /// Rows removed, per kind (every table that held the user's data).
    pub rows: Vec<Removed>,
    /// The connected accounts deleted at the toolkit platform.
    pub toolkit_accounts: Vec<String>,
    /// False when no toolkit platform is configured (nothing could be asked to delete).
    pub toolkits_configured: bool,
    /// The vector index the user's vectors were removed from (`local`, `chroma`, `qdrant`).
    pub vector_index: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    /// The confirmation did not match: nothing was deleted.
    #[error("To delete your account, send your e-mail address as `confirm`")]
    NotConfirmed,
    /// The user does not exist (any more).
    #[error("not authenticated")]
    Unauthenticated,
    #[error("could not delete your connected accounts at the toolkit service: {0}")]
    Toolkits(ToolkitError),
    #[error("could not delete your vectors from the index: {0}")]
    Vectors(VectorError),
    #[error("could not end your sessions: {0}")]
    Sessions(CoreError),
    #[error(transparent)]
    Store(StoreError),
}

#[derive(Clone)]
pub struct AccountDeletion {
    store: Arc<dyn Store>,
    index: Arc<dyn VectorIndex>,
    toolkits: Option<Arc<dyn Toolkits>>,
}

impl AccountDeletion {
    pub fn new(store: Arc<dyn Store>, index: Arc<dyn VectorIndex>, toolkits: Option<Arc<dyn Toolkits>>) -> Self {
        Self { store, index, toolkits }
    }

    /// Deletes the user and everything of theirs. `confirm` must be their e-mail address
    /// (compared case-insensitively).
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    pub async fn delete(
        &self,
        user: UserId,
        confirm: &str,
        sessions: &dyn EndSessions,
    ) -> Result<DeletedAccount, DeletionError> {
        let profile = self.store.get_user(user).await.map_err(|e| match e {
            StoreError::NotFound => DeletionError::Unauthenticated,
            other => DeletionError::Store(other),
        })?;
        if !confirm.trim().eq_ignore_ascii_case(profile.email.as_str()) {
            return Err(DeletionError::NotConfirmed);
        }
        let toolkit_accounts = self.delete_toolkit_accounts(user).await?;
        sessions.end_sessions(user).await.map_err(DeletionError::Sessions)?;
        self.index.delete_user(user).await.map_err(DeletionError::Vectors)?;
        let rows = self.store.delete_account(user).await.map_err(DeletionError::Store)?;
        // A message indexed between the first sweep and the rows' deletion.
        if let Err(error) = self.index.delete_user(user).await {
            tracing::warn!(%error, "second sweep of the deleted user's vectors failed");
        }
        tracing::info!(toolkit_accounts = toolkit_accounts.len(), "account deleted");
        Ok(DeletedAccount {
            rows,
            toolkit_accounts,
            toolkits_configured: self.toolkits.is_some(),
            vector_index: self.index.kind(),
        })
    }

    /// Every connected account the platform holds for the user, and every one the store knows.
    async fn delete_toolkit_accounts(&self, user: UserId) -> Result<Vec<String>, DeletionError> {
        let Some(toolkits) = &self.toolkits else {
            return Ok(Vec::new());
        };
        let mut ids: BTreeSet<String> = toolkits
            .accounts(user)
            .await
            .map_err(DeletionError::Toolkits)?
            .into_iter()
            .map(|a| a.id)
            .collect();
        let known = self.store.list_connections(user).await.map_err(DeletionError::Store)?;
        ids.extend(
            known
                .into_iter()
                .flat_map(|c| [c.connected_account_id, c.connection_request_id])
                .flatten(),
        );
        let mut deleted = Vec::new();
        for id in ids {
            match toolkits.delete_account(&id).await {
                Ok(()) => deleted.push(id),
                // Gone already (or never created): nothing left to delete.
                Err(ToolkitError::NotFound(_)) => {}
                Err(e) => return Err(DeletionError::Toolkits(e)),
            }
        }
        Ok(deleted)
    }
}

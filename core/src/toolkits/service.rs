//! The toolkit connection use cases: connect, sync, enable, disable, list, get.
//!
//! Semantics (the original's, made explicit):
//! - **connect** starts authorization at the platform and stores a `pending` connection keyed
//!   by the request id (replacing the user's earlier connection for that toolkit).
//! - **sync** asks the platform for the request's account and records its state:
//!   `ACTIVE` -> `active`, `INITIALIZING`/`INITIATED` -> `pending`, anything else -> `failed`
//!   with a reason. A connection the user disabled stays `disconnected`.
//! - **enable** re-checks the account with the platform and marks it `active` only if the
//!   platform says it is usable; it is how a disabled toolkit comes back without re-authorizing.
//! - **disable** marks the connection `disconnected`: its tools are no longer offered. The
//!   account stays at the platform, so enabling it again needs no new authorization.

use super::{AccountStatus, ConnectedAccount, ToolkitCatalog, ToolkitError, Toolkits};
use crate::{
    ConnectionStatus, ConnectionUpdate, NewConnection, Store, StoreError, ToolkitConnection, ToolkitSlug, UserId,
};
use chrono::Utc;
use std::sync::Arc;

/// What the toolkit use cases fail with; the edge maps each variant once.
#[derive(Debug, thiserror::Error)]
pub enum ToolkitsError {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// No such connection for this user (another user's counts as none), or a toolkit this
    /// server does not offer (unsupported or without an auth config).
    #[error("{0}")]
    NotFound(String),
    /// The connection exists but is not in a state that allows the operation.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Storage(StoreError),
    /// The toolkit platform failed.
    #[error(transparent)]
    Upstream(#[from] ToolkitError),
}

/// A started connection.
#[derive(Debug, Clone)]
pub struct Connecting {
    pub connection: ToolkitConnection,
    pub redirect_url: Option<String>,
}

/// The outcome of a sync: the stored connection and a sentence for people.
#[derive(Debug, Clone)]
pub struct Synced {
    pub connection: ToolkitConnection,
    pub message: String,
}

#[derive(Clone)]
pub struct ToolkitConnections {
    store: Arc<dyn Store>,
    toolkits: Arc<dyn Toolkits>,
    catalog: Arc<ToolkitCatalog>,
}

fn storage(e: StoreError) -> ToolkitsError {
    ToolkitsError::Storage(e)
}

/// The local status an account's platform state maps to, with the reason when it failed.
pub fn local_status(account: &ConnectedAccount) -> (ConnectionStatus, Option<String>) {
    match &account.status {
        AccountStatus::Active if !account.is_disabled => (ConnectionStatus::Active, None),
        AccountStatus::Initializing | AccountStatus::Initiated => (ConnectionStatus::Pending, None),
        other => {
            let reason = account
                .status_reason
                .clone()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| match other {
                    AccountStatus::Active => "The account is disabled at Composio".to_owned(),
                    s => format!("Connection {}", s.as_str().to_ascii_lowercase()),
                });
            (ConnectionStatus::Failed, Some(reason))
        }
    }
}

impl ToolkitConnections {
    pub fn new(store: Arc<dyn Store>, toolkits: Arc<dyn Toolkits>, catalog: ToolkitCatalog) -> Self {
        Self {
            store,
            toolkits,
            catalog: Arc::new(catalog),
        }
    }

    pub fn catalog(&self) -> &ToolkitCatalog {
        &self.catalog
    }

    /// Every toolkit this server supports.
    pub fn supported(&self) -> Vec<ToolkitSlug> {
        self.catalog.supported()
    }

    #[tracing::instrument(skip(self), fields(user_id = %user))]
    pub async fn connect(&self, user: UserId, toolkit: &str) -> Result<Connecting, ToolkitsError> {
        let slug = self.catalog.resolve(toolkit)?;
        let auth_config = self
            .catalog
            .auth_config(&slug)
            .ok_or_else(|| {
                ToolkitsError::NotFound(format!(
                    "Toolkit {slug} is not configured on this server (no auth config id)"
                ))
            })?
            .to_owned();
        let request = self.toolkits.initiate(user, &auth_config).await?;
        let new = NewConnection {
            toolkit_slug: slug,
            status: ConnectionStatus::Pending,
            auth_config_id: Some(auth_config),
            connection_request_id: Some(request.id),
            connected_account_id: None,
        };
        let connection = self.store.put_connection(user, &new).await.map_err(storage)?;
        tracing::info!(toolkit = %connection.toolkit_slug, "connection initiated");
        Ok(Connecting {
            connection,
            redirect_url: request.redirect_url,
        })
    }

    pub async fn list(&self, user: UserId) -> Result<Vec<ToolkitConnection>, ToolkitsError> {
        self.store.list_connections(user).await.map_err(storage)
    }

    pub async fn get(&self, user: UserId, toolkit: &str) -> Result<ToolkitConnection, ToolkitsError> {
        let slug =
            ToolkitSlug::parse(toolkit).ok_or_else(|| ToolkitsError::Invalid(format!("Invalid toolkit: {toolkit}")))?;
        self.store.get_connection(user, &slug).await.map_err(|e| match e {
            StoreError::NotFound => ToolkitsError::NotFound(format!("No connection found for toolkit {slug}")),
            other => storage(other),
        })
    }

    #[tracing::instrument(skip(self), fields(user_id = %user))]
    pub async fn sync(&self, user: UserId, connection_request_id: &str) -> Result<Synced, ToolkitsError> {
        if !crate::text::storable(connection_request_id) {
            return Err(ToolkitsError::NotFound("Connection request not found".into()));
        }
        let conn = self
            .store
            .get_connection_by_request(user, connection_request_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ToolkitsError::NotFound("Connection request not found".into()),
                other => storage(other),
            })?;
        let (status, error, account_id) = self.observe(&conn).await?;
        // The person switched this toolkit off; a sync reports, it does not switch it back on.
        let status = if conn.status == ConnectionStatus::Disconnected && status == ConnectionStatus::Active {
            ConnectionStatus::Disconnected
        } else {
            status
        };
        let connection = self.record(user, &conn, status, error, account_id).await?;
        let message = match connection.status {
            ConnectionStatus::Active => format!("{} is connected", connection.toolkit_slug),
            ConnectionStatus::Pending => {
                format!(
                    "{} is waiting for authorization: finish it at the redirect URL",
                    connection.toolkit_slug
                )
            }
            ConnectionStatus::Disconnected => format!("{} is disabled: enable it to use it", connection.toolkit_slug),
            ConnectionStatus::Failed => format!(
                "{} connection failed: {}",
                connection.toolkit_slug,
                connection.error_message.as_deref().unwrap_or("unknown reason")
            ),
        };
        Ok(Synced { connection, message })
    }

    #[tracing::instrument(skip(self), fields(user_id = %user))]
    pub async fn enable(&self, user: UserId, toolkit: &str) -> Result<ToolkitConnection, ToolkitsError> {
        let slug = self.catalog.resolve(toolkit)?;
        let conn = self.existing(user, &slug).await?;
        let (status, error, account_id) = self.observe(&conn).await?;
        let connection = self.record(user, &conn, status, error, account_id).await?;
        match connection.status {
            ConnectionStatus::Active => Ok(connection),
            ConnectionStatus::Pending => Err(ToolkitsError::Conflict(format!(
                "{slug} is not authorized yet: finish the authorization, then enable it"
            ))),
            _ => Err(ToolkitsError::Conflict(format!(
                "{slug} cannot be enabled ({}): connect it again",
                connection
                    .error_message
                    .as_deref()
                    .unwrap_or("the account is not usable")
            ))),
        }
    }

    #[tracing::instrument(skip(self), fields(user_id = %user))]
    pub async fn disable(&self, user: UserId, toolkit: &str) -> Result<ToolkitConnection, ToolkitsError> {
        let slug = self.catalog.resolve(toolkit)?;
        let conn = self.existing(user, &slug).await?;
        self.record(user, &conn, ConnectionStatus::Disconnected, None, None)
            .await
    }

    async fn existing(&self, user: UserId, slug: &ToolkitSlug) -> Result<ToolkitConnection, ToolkitsError> {
        self.store.get_connection(user, slug).await.map_err(|e| match e {
            StoreError::NotFound => {
                ToolkitsError::NotFound(format!("No connection found for toolkit {slug}: connect it first"))
            }
            other => storage(other),
        })
    }

    /// The platform's state of the connection's account, as a local status.
    async fn observe(
        &self,
        conn: &ToolkitConnection,
    ) -> Result<(ConnectionStatus, Option<String>, Option<String>), ToolkitsError> {
        let Some(id) = conn
            .connected_account_id
            .as_deref()
            .or(conn.connection_request_id.as_deref())
        else {
            return Ok((
                ConnectionStatus::Failed,
                Some("No connected account is known: connect again".into()),
                None,
            ));
        };
        match self.toolkits.account(id).await {
            Ok(account) => {
                let (status, error) = local_status(&account);
                Ok((status, error, Some(account.id)))
            }
            // Gone at the platform (expired link, deleted account): the connection is over.
            Err(ToolkitError::NotFound(_)) => Ok((
                ConnectionStatus::Failed,
                Some("The connected account no longer exists at Composio".into()),
                None,
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn record(
        &self,
        user: UserId,
        conn: &ToolkitConnection,
        status: ConnectionStatus,
        error_message: Option<String>,
        connected_account_id: Option<String>,
    ) -> Result<ToolkitConnection, ToolkitsError> {
        let update = ConnectionUpdate {
            status,
            connected_account_id,
            error_message,
            synced_at: Utc::now(),
        };
        self.store
            .update_connection(user, conn.id, &update)
            .await
            .map_err(storage)
    }
}

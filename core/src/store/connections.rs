use super::StoreError;
use crate::{ConnectionId, ConnectionUpdate, NewConnection, ToolkitConnection, ToolkitSlug, UserId};

#[async_trait::async_trait]
pub trait ConnectionStore {
    /// Stores the user's connection for a toolkit, replacing any earlier one for the same toolkit.
    async fn put_connection(&self, user: UserId, connection: &NewConnection) -> Result<ToolkitConnection, StoreError>;

    async fn list_connections(&self, user: UserId) -> Result<Vec<ToolkitConnection>, StoreError>;

    async fn get_connection(&self, user: UserId, toolkit: &ToolkitSlug) -> Result<ToolkitConnection, StoreError>;

    async fn get_connection_by_request(
        &self,
        user: UserId,
        connection_request_id: &str,
    ) -> Result<ToolkitConnection, StoreError>;

    async fn update_connection(
        &self,
        user: UserId,
        id: ConnectionId,
        update: &ConnectionUpdate,
    ) -> Result<ToolkitConnection, StoreError>;
}

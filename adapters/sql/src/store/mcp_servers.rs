use super::SqlStore;
use crate::clock;
use crate::entity::mcp_servers::{self as servers, Column};
use crate::error::db_err;
use meai_core::mcp::{McpServer, NewMcpServer};
use meai_core::store::McpServerStore;
use meai_core::{McpServerId, StoreError, UserId};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder};

impl From<servers::Model> for McpServer {
    fn from(row: servers::Model) -> Self {
        McpServer {
            id: McpServerId(row.id),
            user_id: UserId(row.user_id),
            name: row.name,
            url: row.url,
            sealed_token: row.sealed_token,
            created_at: row.created_at,
        }
    }
}

#[async_trait::async_trait]
impl McpServerStore for SqlStore {
    async fn create_mcp_server(&self, user: UserId, server: &NewMcpServer) -> Result<McpServer, StoreError> {
        let row = servers::ActiveModel {
            user_id: Set(user.0),
            name: Set(server.name.clone()),
            name_key: Set(server.name.to_ascii_lowercase()),
            url: Set(server.url.clone()),
            sealed_token: Set(server.sealed_token.clone()),
            created_at: Set(clock::now()),
            ..Default::default()
        };
        let _gate = self.write_gate().await;
        let row = servers::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(row.into())
    }

    async fn list_mcp_servers(&self, user: UserId) -> Result<Vec<McpServer>, StoreError> {
        let rows = servers::Entity::find()
            .filter(servers::COLUMN.user_id.eq(user.0))
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(McpServer::from).collect())
    }

    async fn delete_mcp_server(&self, user: UserId, id: McpServerId) -> Result<(), StoreError> {
        let delete = servers::Entity::delete_many()
            .filter(servers::COLUMN.user_id.eq(user.0))
            .filter(servers::COLUMN.id.eq(id.0));
        let _gate = self.write_gate().await;
        match delete.exec(&self.db).await.map_err(db_err)?.rows_affected {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }
}

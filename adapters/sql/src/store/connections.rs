use super::SqlStore;
use crate::clock;
use crate::entity::toolkit_connections::{self as connections, Column};
use crate::error::db_err;
use crate::mapping;
use meai_core::store::ConnectionStore;
use meai_core::{ConnectionId, ConnectionUpdate, NewConnection, StoreError, ToolkitConnection, ToolkitSlug, UserId};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder};

#[async_trait::async_trait]
impl ConnectionStore for SqlStore {
    async fn put_connection(&self, user: UserId, connection: &NewConnection) -> Result<ToolkitConnection, StoreError> {
        let now = clock::now();
        let row = connections::ActiveModel {
            user_id: Set(user.0),
            toolkit_slug: Set(connection.toolkit_slug.as_str().to_owned()),
            connection_status: Set(connection.status.as_str().to_owned()),
            connected_account_id: Set(connection.connected_account_id.clone()),
            auth_config_id: Set(connection.auth_config_id.clone()),
            connection_request_id: Set(connection.connection_request_id.clone()),
            last_synced_at: Set(None),
            error_message: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        // Replacing keeps the row (its id and created_at) and resets everything a sync learnt.
        let upsert = connections::Entity::insert(row).on_conflict(
            OnConflict::columns([Column::UserId, Column::ToolkitSlug])
                .update_columns([
                    Column::ConnectionStatus,
                    Column::ConnectedAccountId,
                    Column::AuthConfigId,
                    Column::ConnectionRequestId,
                    Column::LastSyncedAt,
                    Column::ErrorMessage,
                    Column::UpdatedAt,
                ])
                .to_owned(),
        );
        let _gate = self.write_gate().await;
        upsert.exec_with_returning(&self.db).await.map_err(db_err)?.try_into()
    }

    async fn list_connections(&self, user: UserId) -> Result<Vec<ToolkitConnection>, StoreError> {
        let rows = connections::Entity::find()
            .filter(connections::COLUMN.user_id.eq(user.0))
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        mapping::all(rows)
    }

    async fn get_connection(&self, user: UserId, toolkit: &ToolkitSlug) -> Result<ToolkitConnection, StoreError> {
        connections::Entity::find()
            .filter(connections::COLUMN.user_id.eq(user.0))
            .filter(connections::COLUMN.toolkit_slug.eq(toolkit.as_str()))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }

    async fn get_connection_by_request(
        &self,
        user: UserId,
        connection_request_id: &str,
    ) -> Result<ToolkitConnection, StoreError> {
        connections::Entity::find()
            .filter(connections::COLUMN.user_id.eq(user.0))
            .filter(connections::COLUMN.connection_request_id.eq(connection_request_id))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }

    async fn update_connection(
        &self,
        user: UserId,
        id: ConnectionId,
        update: &ConnectionUpdate,
    ) -> Result<ToolkitConnection, StoreError> {
        let mut query = connections::Entity::update_many()
            .col_expr(Column::ConnectionStatus, Expr::value(update.status.as_str()))
            .col_expr(Column::ErrorMessage, Expr::value(update.error_message.clone()))
            .col_expr(Column::LastSyncedAt, Expr::value(clock::stored(update.synced_at)))
            .col_expr(Column::UpdatedAt, Expr::value(clock::now()))
            .filter(connections::COLUMN.id.eq(id.0))
            .filter(connections::COLUMN.user_id.eq(user.0));
        // A sync that did not see an account keeps the one already known.
        if let Some(account) = &update.connected_account_id {
            query = query.col_expr(Column::ConnectedAccountId, Expr::value(account.as_str()));
        }
        let _gate = self.write_gate().await;
        let rows = query.exec_with_returning(&self.db).await.map_err(db_err)?;
        rows.into_iter().next().ok_or(StoreError::NotFound)?.try_into()
    }
}

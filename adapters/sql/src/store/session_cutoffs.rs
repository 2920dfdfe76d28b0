//! Per-user session cutoffs: one row per user, only ever moved forward.

use super::SqlStore;
use crate::clock;
use crate::entity::session_cutoffs;
use crate::error::db_err;
use chrono::{DateTime, Utc};
use meai_core::store::SessionCutoffStore;
use meai_core::{StoreError, UserId};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, EntityTrait};

#[async_trait::async_trait]
impl SessionCutoffStore for SqlStore {
    async fn end_sessions(&self, user: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let row = session_cutoffs::ActiveModel {
            user_id: Set(user.0),
            ended_at: Set(clock::stored(at)),
        };
        // One statement, so concurrent calls cannot move the cutoff back: the update only
        // applies when the new cutoff is later.
        let ended_at = session_cutoffs::Column::EndedAt;
        let later = Expr::col((session_cutoffs::Entity, ended_at)).lt(Expr::col((Alias::new("excluded"), ended_at)));
        let upsert = session_cutoffs::Entity::insert(row).on_conflict(
            OnConflict::column(session_cutoffs::Column::UserId)
                .update_column(ended_at)
                .action_and_where(later)
                .to_owned(),
        );
        let _gate = self.write_gate().await;
        match upsert.exec_without_returning(&self.db).await {
            // The row exists with a later cutoff: nothing to do.
            Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => Ok(()),
            Err(e) => Err(db_err(e)),
        }
    }

    async fn sessions_ended_at(&self, user: UserId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = session_cutoffs::Entity::find_by_id(user.0)
            .one(&self.db)
            .await
            .map_err(db_err)?;
        Ok(row.map(|r| r.ended_at))
    }

    async fn session_cutoffs(&self) -> Result<Vec<(UserId, DateTime<Utc>)>, StoreError> {
        let rows = session_cutoffs::Entity::find().all(&self.db).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (UserId(r.user_id), r.ended_at)).collect())
    }
}

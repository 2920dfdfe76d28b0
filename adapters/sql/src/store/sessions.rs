//! Session revocations and OAuth logins in flight: short-lived rows keyed by opaque strings.

use super::SqlStore;
use crate::clock;
use crate::entity::{pending_logins, revoked_tokens};
use crate::error::db_err;
use chrono::{DateTime, Utc};
use meai_core::session::TokenId;
use meai_core::store::{LoginStore, RevocationStore};
use meai_core::{PendingLogin, StoreError};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter, SelectExt};

#[async_trait::async_trait]
impl RevocationStore for SqlStore {
    async fn revoke_token(&self, id: &TokenId, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let row = revoked_tokens::ActiveModel {
            token_id: Set(id.as_str().to_owned()),
            expires_at: Set(clock::stored(expires_at)),
        };
        let upsert = revoked_tokens::Entity::insert(row).on_conflict(
            OnConflict::column(revoked_tokens::Column::TokenId)
                .update_column(revoked_tokens::Column::ExpiresAt)
                .to_owned(),
        );
        let _gate = self.write_gate().await;
        upsert.exec_without_returning(&self.db).await.map_err(db_err)?;
        Ok(())
    }

    async fn is_token_revoked(&self, id: &TokenId) -> Result<bool, StoreError> {
        revoked_tokens::Entity::find_by_id(id.as_str())
            .exists(&self.db)
            .await
            .map_err(db_err)
    }

    async fn live_revocations(&self, now: DateTime<Utc>) -> Result<Vec<(TokenId, DateTime<Utc>)>, StoreError> {
        let rows = revoked_tokens::Entity::find()
            .filter(revoked_tokens::COLUMN.expires_at.gte(clock::stored(now)))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| (TokenId::new(r.token_id), r.expires_at))
            .collect())
    }

    async fn purge_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let purge = revoked_tokens::Entity::delete_many().filter(revoked_tokens::COLUMN.expires_at.lt(now));
        let _gate = self.write_gate().await;
        Ok(purge.exec(&self.db).await.map_err(db_err)?.rows_affected)
    }
}

#[async_trait::async_trait]
impl LoginStore for SqlStore {
    async fn put_login(&self, login: &PendingLogin) -> Result<(), StoreError> {
        let row = pending_logins::ActiveModel {
            state: Set(login.state.clone()),
            pkce_verifier: Set(login.pkce_verifier.clone()),
            nonce: Set(login.nonce.clone()),
            return_to: Set(login.return_to.clone()),
            expires_at: Set(clock::stored(login.expires_at)),
        };
        let _gate = self.write_gate().await;
        // Abandoned logins would pile up otherwise; the table is tiny, so sweep on the way in.
        pending_logins::Entity::delete_many()
            .filter(pending_logins::COLUMN.expires_at.lt(clock::now()))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        pending_logins::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn take_login(&self, state: &str, now: DateTime<Utc>) -> Result<Option<PendingLogin>, StoreError> {
        // DELETE .. RETURNING: of two callers racing on one state, exactly one gets it.
        let take = pending_logins::Entity::delete_by_id(state);
        let _gate = self.write_gate().await;
        let taken = take.exec_with_returning(&self.db).await.map_err(db_err)?;
        Ok(taken.filter(|row| row.expires_at > now).map(PendingLogin::from))
    }
}

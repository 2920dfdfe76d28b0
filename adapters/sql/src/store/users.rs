use super::SqlStore;
use crate::clock;
use crate::entity::users;
use crate::error::db_err;
use chrono::{DateTime, Utc};
use meai_core::store::UserStore;
use meai_core::{NewUser, StoreError, User, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};

#[async_trait::async_trait]
impl UserStore for SqlStore {
    async fn upsert_user(&self, profile: &NewUser, login_at: DateTime<Utc>) -> Result<User, StoreError> {
        let row = users::ActiveModel {
            email: Set(profile.email.as_str().to_owned()),
            name: Set(profile.name.clone()),
            avatar_url: Set(profile.avatar_url.clone()),
            auth_method: Set(profile.auth_method.as_str().to_owned()),
            last_login: Set(Some(clock::stored(login_at))),
            created_at: Set(clock::now()),
            ..Default::default()
        };
        // One statement: two first sign-ins racing on one e-mail still make one user.
        let upsert = users::Entity::insert(row).on_conflict(
            OnConflict::column(users::Column::Email)
                .update_columns([
                    users::Column::Name,
                    users::Column::AvatarUrl,
                    users::Column::AuthMethod,
                    users::Column::LastLogin,
                ])
                .to_owned(),
        );
        let _gate = self.write_gate().await;
        upsert.exec_with_returning(&self.db).await.map_err(db_err)?.try_into()
    }

    async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        users::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }
}

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique, column_type = "Text")]
    pub email: String,
    #[sea_orm(column_type = "Text")]
    pub name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub avatar_url: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub auth_method: String,
    pub last_login: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub conversations: HasMany<super::conversations::Entity>,
    #[sea_orm(has_many)]
    pub toolkit_connections: HasMany<super::toolkit_connections::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "toolkit_connections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    #[sea_orm(column_type = "Text")]
    pub toolkit_slug: String,
    #[sea_orm(column_type = "Text")]
    pub connection_status: String,
    #[sea_orm(column_type = "Text")]
    pub connected_account_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub auth_config_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub connection_request_id: Option<String>,
    pub last_synced_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub error_message: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::users::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}

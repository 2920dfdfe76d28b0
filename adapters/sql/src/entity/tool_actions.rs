use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tool_actions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    pub approval_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub toolkit: String,
    #[sea_orm(column_type = "Text")]
    pub tool: String,
    /// JSON, secrets redacted.
    #[sea_orm(column_type = "Text")]
    pub arguments: String,
    #[sea_orm(column_type = "Text")]
    pub decision: String,
    /// `succeeded`, `failed` or `not_run`.
    #[sea_orm(column_type = "Text")]
    pub outcome: String,
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    /// JSON object.
    #[sea_orm(column_type = "Text")]
    pub provider_ids: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

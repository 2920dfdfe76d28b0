use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tool_approvals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub conversation_id: i64,
    pub batch_id: i64,
    pub message_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub call_id: String,
    #[sea_orm(column_type = "Text")]
    pub toolkit: String,
    #[sea_orm(column_type = "Text")]
    pub tool: String,
    /// JSON.
    #[sea_orm(column_type = "Text")]
    pub arguments: String,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    /// `pending`, `approved`, `denied` or `expired`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    /// JSON, once approved.
    #[sea_orm(column_type = "Text")]
    pub approved_arguments: Option<String>,
    pub edited: bool,
    #[sea_orm(column_type = "Text")]
    pub result: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub decided_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memories")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    /// The content as compared for duplicates (unique per user).
    #[sea_orm(column_type = "Text")]
    pub fingerprint: String,
    /// `extracted`, `person` or `imported`.
    #[sea_orm(column_type = "Text")]
    pub origin: String,
    pub source_message_id: Option<i64>,
    pub source_conversation_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

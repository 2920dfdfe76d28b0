use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub conversation_id: i64,
    pub user_id: i64,
    /// The author: `Human`, `AI`, `System` or `Tool` (the original API's column name).
    #[sea_orm(column_name = "type", column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    #[sea_orm(column_type = "Text")]
    pub client_message_id: Option<String>,
    /// The message before it on its branch; null for a first message.
    pub parent_id: Option<i64>,
    /// An answer's usage: the model that wrote it and the tokens the provider reported.
    #[sea_orm(column_type = "Text")]
    pub model: Option<String>,
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "conversation_id", to = "id")]
    pub conversation: BelongsTo<super::conversations::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    #[sea_orm(column_type = "Text")]
    pub title: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub summary_text: Option<String>,
    /// The chat model of its turns; null: the server's default.
    #[sea_orm(column_type = "Text")]
    pub model: Option<String>,
    /// The last message of the branch shown; null: the newest message (none yet, or rows
    /// written before the tree).
    pub active_leaf_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::users::Entity>,
    #[sea_orm(has_many)]
    pub messages: HasMany<super::messages::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}

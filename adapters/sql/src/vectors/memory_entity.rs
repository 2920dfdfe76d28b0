//! The `memory_vectors` table (migration `m20261201_000020_memories`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memory_vectors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub memory_id: i64,
    pub user_id: i64,
    #[sea_orm(column_type = "Text")]
    pub space: String,
    pub dimensions: i32,
    #[sea_orm(column_type = "Blob")]
    pub vector: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

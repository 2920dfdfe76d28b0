use super::SqlStore;
use crate::clock;
use crate::entity::tool_policies::{self as policies, Column};
use crate::error::db_err;
use crate::mapping::corrupt;
use meai_core::consent::{NewPolicyRule, PolicyRule, PolicyScope, PolicySetting, ToolName};
use meai_core::store::ToolPolicyStore;
use meai_core::{Page, StoreError, ToolPolicyId, ToolkitSlug, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

const TABLE: &str = "tool_policies";

/// The scope's columns: a toolkit rule has an empty `tool`.
fn columns(scope: &PolicyScope) -> (&str, &str) {
    (scope.toolkit().as_str(), scope.tool().map_or("", ToolName::as_str))
}

impl TryFrom<policies::Model> for PolicyRule {
    type Error = StoreError;

    fn try_from(row: policies::Model) -> Result<Self, StoreError> {
        let toolkit = ToolkitSlug::parse(&row.toolkit).ok_or_else(|| corrupt(TABLE, "toolkit", &row.toolkit))?;
        let scope = match row.tool.as_str() {
            "" => PolicyScope::Toolkit(toolkit),
            tool => PolicyScope::Tool {
                toolkit,
                tool: ToolName::parse(tool).ok_or_else(|| corrupt(TABLE, "tool", tool))?,
            },
        };
        Ok(PolicyRule {
            id: ToolPolicyId(row.id),
            user_id: UserId(row.user_id),
            scope,
            setting: PolicySetting::parse(&row.setting).ok_or_else(|| corrupt(TABLE, "setting", &row.setting))?,
            updated_at: row.updated_at,
        })
    }
}

#[async_trait::async_trait]
impl ToolPolicyStore for SqlStore {
    async fn put_tool_policy(&self, user: UserId, rule: &NewPolicyRule) -> Result<PolicyRule, StoreError> {
        let (toolkit, tool) = columns(rule.scope());
        let row = policies::ActiveModel {
            user_id: Set(user.0),
            toolkit: Set(toolkit.to_owned()),
            tool: Set(tool.to_owned()),
            setting: Set(rule.setting().as_str().to_owned()),
            updated_at: Set(clock::now()),
            ..Default::default()
        };
        let upsert = policies::Entity::insert(row).on_conflict(
            OnConflict::columns([Column::UserId, Column::Toolkit, Column::Tool])
                .update_columns([Column::Setting, Column::UpdatedAt])
                .to_owned(),
        );
        let _gate = self.write_gate().await;
        upsert.exec_with_returning(&self.db).await.map_err(db_err)?.try_into()
    }

    async fn delete_tool_policy(&self, user: UserId, scope: &PolicyScope) -> Result<(), StoreError> {
        let (toolkit, tool) = columns(scope);
        let delete = policies::Entity::delete_many()
            .filter(policies::COLUMN.user_id.eq(user.0))
            .filter(policies::COLUMN.toolkit.eq(toolkit))
            .filter(policies::COLUMN.tool.eq(tool));
        let _gate = self.write_gate().await;
        match delete.exec(&self.db).await.map_err(db_err)?.rows_affected {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn list_tool_policies(&self, user: UserId, page: Page<ToolPolicyId>) -> Result<Vec<PolicyRule>, StoreError> {
        let mut query = policies::Entity::find()
            .filter(policies::COLUMN.user_id.eq(user.0))
            .order_by_desc(Column::Id);
        if let Some(before) = page.before {
            query = query.filter(policies::COLUMN.id.lt(before.0));
        }
        if let Some(limit) = page.limit {
            query = query.limit(limit);
        }
        crate::mapping::all(query.all(&self.db).await.map_err(db_err)?)
    }
}

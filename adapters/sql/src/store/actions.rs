use super::SqlStore;
use crate::clock;
use crate::entity::tool_actions::{self as actions, Column};
use crate::error::db_err;
use crate::mapping::corrupt;
use meai_core::consent::{ActionCall, ActionDecision, ActionFilter, ActionOutcome, ActionRecord, NewAction};
use meai_core::store::ActionStore;
use meai_core::{ActionId, ApprovalId, ConversationId, MessageId, Page, StoreError, UserId};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

const TABLE: &str = "tool_actions";

fn json(column: &'static str, raw: &str) -> Result<Value, StoreError> {
    serde_json::from_str(raw).map_err(|_| corrupt(TABLE, column, raw))
}

impl TryFrom<actions::Model> for ActionRecord {
    type Error = StoreError;

    fn try_from(row: actions::Model) -> Result<Self, StoreError> {
        let outcome = match (row.outcome.as_str(), row.error) {
            ("succeeded", _) => ActionOutcome::Succeeded,
            ("failed", error) => ActionOutcome::Failed(error.unwrap_or_default()),
            ("not_run", _) => ActionOutcome::NotRun,
            (other, _) => return Err(corrupt(TABLE, "outcome", other)),
        };
        Ok(ActionRecord {
            id: ActionId(row.id),
            user_id: UserId(row.user_id),
            call: ActionCall {
                conversation_id: row.conversation_id.map(ConversationId),
                message_id: row.message_id.map(MessageId),
                approval_id: row.approval_id.map(ApprovalId),
                arguments: json("arguments", &row.arguments)?,
                toolkit: row.toolkit,
                tool: row.tool,
            },
            decision: ActionDecision::parse(&row.decision).ok_or_else(|| corrupt(TABLE, "decision", &row.decision))?,
            outcome,
            provider_ids: json("provider_ids", &row.provider_ids)?,
            created_at: row.created_at,
        })
    }
}

#[async_trait::async_trait]
impl ActionStore for SqlStore {
    async fn record_action(&self, user: UserId, action: &NewAction) -> Result<ActionRecord, StoreError> {
        let call = &action.call;
        let error = match &action.outcome {
            ActionOutcome::Failed(e) => Some(e.clone()),
            _ => None,
        };
        let row = actions::ActiveModel {
            user_id: Set(user.0),
            conversation_id: Set(call.conversation_id.map(|c| c.0)),
            message_id: Set(call.message_id.map(|m| m.0)),
            approval_id: Set(call.approval_id.map(|a| a.0)),
            toolkit: Set(call.toolkit.clone()),
            tool: Set(call.tool.clone()),
            arguments: Set(call.arguments.to_string()),
            decision: Set(action.decision.as_str().to_owned()),
            outcome: Set(action.outcome.as_str().to_owned()),
            error: Set(error),
            provider_ids: Set(action.provider_ids.to_string()),
            created_at: Set(clock::now()),
            ..Default::default()
        };
        let insert = actions::Entity::insert(row);
        let _gate = self.write_gate().await;
        insert.exec_with_returning(&self.db).await.map_err(db_err)?.try_into()
    }

    async fn list_actions(
        &self,
        user: UserId,
        filter: &ActionFilter,
        page: Page<ActionId>,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let mut query = actions::Entity::find()
            .filter(actions::COLUMN.user_id.eq(user.0))
            .order_by_desc(Column::Id);
        if let Some(conversation) = filter.conversation {
            query = query.filter(actions::COLUMN.conversation_id.eq(conversation.0));
        }
        if let Some(toolkit) = &filter.toolkit {
            query = query.filter(actions::COLUMN.toolkit.eq(toolkit.as_str()));
        }
        if let Some(before) = page.before {
            query = query.filter(actions::COLUMN.id.lt(before.0));
        }
        if let Some(limit) = page.limit {
            query = query.limit(limit);
        }
        crate::mapping::all(query.all(&self.db).await.map_err(db_err)?)
    }
}

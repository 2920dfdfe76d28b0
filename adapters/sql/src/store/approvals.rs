use super::SqlStore;
use super::conversations::owned;
use crate::clock;
use crate::entity::tool_approvals::{self as approvals, Column};
use crate::error::db_err;
use crate::mapping::corrupt;
use chrono::{DateTime, Utc};
use meai_core::consent::{Approval, ApprovalState, NewApproval, Resolution};
use meai_core::store::ApprovalStore;
use meai_core::{ApprovalId, ConversationId, MessageId, Page, StoreError, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

const TABLE: &str = "tool_approvals";
const PENDING: &str = "pending";

fn json(column: &'static str, raw: &str) -> Result<Value, StoreError> {
    serde_json::from_str(raw).map_err(|_| corrupt(TABLE, column, raw))
}

impl TryFrom<approvals::Model> for Approval {
    type Error = StoreError;

    fn try_from(row: approvals::Model) -> Result<Self, StoreError> {
        let resolution = match (row.status.as_str(), &row.approved_arguments) {
            (PENDING, _) => None,
            ("approved", Some(args)) => Some(Resolution::Approved {
                arguments: json("approved_arguments", args)?,
                edited: row.edited,
            }),
            ("denied", _) => Some(Resolution::Denied),
            ("expired", _) => Some(Resolution::Expired),
            (other, _) => return Err(corrupt(TABLE, "status", other)),
        };
        let state = match (resolution, row.decided_at) {
            (None, _) => ApprovalState::Pending,
            (Some(resolution), Some(at)) => ApprovalState::Decided { resolution, at },
            (Some(_), None) => return Err(corrupt(TABLE, "decided_at", "null")),
        };
        Ok(Approval {
            id: ApprovalId(row.id),
            user_id: UserId(row.user_id),
            conversation_id: ConversationId(row.conversation_id),
            batch: ApprovalId(row.batch_id),
            message_id: row.message_id.map(MessageId),
            arguments: json("arguments", &row.arguments)?,
            call_id: row.call_id,
            toolkit: row.toolkit,
            tool: row.tool,
            summary: row.summary,
            state,
            result: row.result,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

async fn insert(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
    batch: i64,
    new: &NewApproval,
    now: DateTime<Utc>,
) -> Result<approvals::Model, StoreError> {
    let row = approvals::ActiveModel {
        user_id: Set(user.0),
        conversation_id: Set(conversation.0),
        batch_id: Set(batch),
        message_id: Set(new.message_id.map(|m| m.0)),
        call_id: Set(new.call_id.clone()),
        toolkit: Set(new.toolkit.clone()),
        tool: Set(new.tool.clone()),
        arguments: Set(new.arguments.to_string()),
        summary: Set(new.summary.clone()),
        status: Set(PENDING.to_owned()),
        approved_arguments: Set(None),
        edited: Set(false),
        result: Set(None),
        created_at: Set(now),
        expires_at: Set(new.expires_at.map(clock::stored)),
        decided_at: Set(None),
        ..Default::default()
    };
    approvals::Entity::insert(row)
        .exec_with_returning(db)
        .await
        .map_err(db_err)
}

impl SqlStore {
    async fn approvals_where(
        &self,
        user: UserId,
        filter: impl FnOnce(sea_orm::Select<approvals::Entity>) -> sea_orm::Select<approvals::Entity>,
    ) -> Result<Vec<Approval>, StoreError> {
        let query = approvals::Entity::find().filter(approvals::COLUMN.user_id.eq(user.0));
        crate::mapping::all(filter(query).all(&self.db).await.map_err(db_err)?)
    }
}

#[async_trait::async_trait]
impl ApprovalStore for SqlStore {
    async fn create_approvals(
        &self,
        user: UserId,
        conversation: ConversationId,
        new: &[NewApproval],
    ) -> Result<Vec<Approval>, StoreError> {
        let txn = self.begin_write().await?;
        let outcome = async {
            owned(txn.conn(), user, conversation).await?;
            let now = clock::now();
            let mut rows = Vec::with_capacity(new.len());
            for approval in new {
                let batch = rows.first().map_or(0, |first: &approvals::Model| first.batch_id);
                let mut row = insert(txn.conn(), user, conversation, batch, approval, now).await?;
                if rows.is_empty() {
                    // The batch is the first approval's id, known once it is inserted.
                    approvals::Entity::update_many()
                        .col_expr(Column::BatchId, Expr::value(row.id))
                        .filter(approvals::COLUMN.id.eq(row.id))
                        .exec(txn.conn())
                        .await
                        .map_err(db_err)?;
                    row.batch_id = row.id;
                }
                rows.push(row);
            }
            Ok(rows)
        }
        .await;
        crate::mapping::all(txn.finish(outcome).await?)
    }

    async fn get_approval(&self, user: UserId, id: ApprovalId) -> Result<Approval, StoreError> {
        self.approvals_where(user, |q| q.filter(approvals::COLUMN.id.eq(id.0)))
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    async fn pending_approvals(&self, user: UserId, conversation: ConversationId) -> Result<Vec<Approval>, StoreError> {
        self.approvals_where(user, |q| {
            q.filter(approvals::COLUMN.conversation_id.eq(conversation.0))
                .filter(approvals::COLUMN.status.eq(PENDING))
                .order_by_asc(Column::Id)
        })
        .await
    }

    async fn approval_batch(&self, user: UserId, batch: ApprovalId) -> Result<Vec<Approval>, StoreError> {
        self.approvals_where(user, |q| {
            q.filter(approvals::COLUMN.batch_id.eq(batch.0))
                .order_by_asc(Column::Id)
        })
        .await
    }

    async fn resolve_approval(
        &self,
        user: UserId,
        id: ApprovalId,
        resolution: &Resolution,
        at: DateTime<Utc>,
    ) -> Result<Approval, StoreError> {
        let (arguments, edited) = match resolution {
            Resolution::Approved { arguments, edited } => (Some(arguments.to_string()), *edited),
            Resolution::Denied | Resolution::Expired => (None, false),
        };
        // Only a pending row changes: of two concurrent decisions, one matches, one finds none.
        let update = approvals::Entity::update_many()
            .col_expr(Column::Status, Expr::value(resolution.as_str()))
            .col_expr(Column::ApprovedArguments, Expr::value(arguments))
            .col_expr(Column::Edited, Expr::value(edited))
            .col_expr(Column::DecidedAt, Expr::value(clock::stored(at)))
            .filter(approvals::COLUMN.id.eq(id.0))
            .filter(approvals::COLUMN.user_id.eq(user.0))
            .filter(approvals::COLUMN.status.eq(PENDING));
        let rows = {
            let _gate = self.write_gate().await;
            update.exec_with_returning(&self.db).await.map_err(db_err)?
        };
        match rows.into_iter().next() {
            Some(row) => row.try_into(),
            None => {
                self.get_approval(user, id).await?;
                Err(StoreError::Conflict("the approval is no longer pending".into()))
            }
        }
    }

    async fn set_approval_result(&self, user: UserId, id: ApprovalId, result: &str) -> Result<(), StoreError> {
        let update = approvals::Entity::update_many()
            .col_expr(Column::Result, Expr::value(result))
            .filter(approvals::COLUMN.id.eq(id.0))
            .filter(approvals::COLUMN.user_id.eq(user.0));
        let _gate = self.write_gate().await;
        match update.exec(&self.db).await.map_err(db_err)?.rows_affected {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn list_approvals(&self, user: UserId, page: Page<ApprovalId>) -> Result<Vec<Approval>, StoreError> {
        self.approvals_where(user, |mut q| {
            if let Some(before) = page.before {
                q = q.filter(approvals::COLUMN.id.lt(before.0));
            }
            if let Some(limit) = page.limit {
                q = q.limit(limit);
            }
            q.order_by_desc(Column::Id)
        })
        .await
    }
}

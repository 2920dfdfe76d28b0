//! Pending tool calls of a conversation, and the person's decision on one (which streams the
//! run that acts on it, like sending a message).

use super::chat::{AnswerStream, answer_stream};
use super::conversations::example_time;
use super::session::Authenticated;
use super::{ApiError, ApiTags};
use crate::state::AppState;
use crate::turn_start::{self, DecideApproval};
use chrono::{DateTime, Utc};
use meai_core::consent::Approval;
use meai_core::{ApprovalId, ConversationId};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi, payload::Json};
use serde_json::{Value, json};

pub struct ApprovalsApi;

/// A tool call waiting for the person's decision.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ApprovalOut {
    approval_id: i64,
    conversation_id: i64,
    toolkit: String,
    tool: String,
    /// The call's arguments, as the model gave them (what approving runs, unless edited).
    arguments: Value,
    /// What the call would do, in one line.
    summary: String,
    created_at: DateTime<Utc>,
    /// When it is denied if nobody decides; null: never.
    #[oai(nullable)]
    expires_at: Option<DateTime<Utc>>,
}

impl Example for ApprovalOut {
    fn example() -> Self {
        Self {
            approval_id: 12,
            conversation_id: 42,
            toolkit: "GMAIL".into(),
            tool: "GMAIL_SEND_EMAIL".into(),
            arguments: json!({"recipient_email": "bob@example.com", "subject": "Lunch", "body": "Friday at noon?"}),
            summary: "GMAIL: send email (recipient_email: bob@example.com, subject: Lunch, body: Friday at noon?)"
                .into(),
            created_at: example_time(9, 41),
            expires_at: Some(example_time(9, 41) + chrono::Duration::hours(24)),
        }
    }
}

impl From<Approval> for ApprovalOut {
    fn from(a: Approval) -> Self {
        Self {
            approval_id: a.id.0,
            conversation_id: a.conversation_id.0,
            toolkit: a.toolkit,
            tool: a.tool,
            arguments: a.arguments,
            summary: a.summary,
            created_at: a.created_at,
            expires_at: a.expires_at,
        }
    }
}

/// The conversation's pending approvals, oldest first.
#[derive(Debug, Object)]
struct ApprovalList {
    approvals: Vec<ApprovalOut>,
}

#[OpenApi(tag = "ApiTags::Consent")]
impl ApprovalsApi {
    /// Pending approvals of a conversation
    ///
    /// Tool calls the assistant asked to make that wait for the person's decision, oldest first.
    /// Those past their expiry are denied first and not listed. 404 when the conversation does
    /// not exist or is someone else's.
    #[oai(
        path = "/conversations/:conversation_id/approvals",
        method = "get",
        operation_id = "listApprovals"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
    ) -> Result<Json<ApprovalList>, ApiError> {
        let pending = state
            .consent
            .pending(session.0.user_id, ConversationId(conversation_id.0))
            .await?;
        Ok(Json(ApprovalList {
            approvals: pending.into_iter().map(Into::into).collect(),
        }))
    }

    /// Decide a pending tool call
    ///
    /// `approve` runs the call (with `arguments` instead of the model's, when given: they must
    /// match the tool's input schema, else 400), `deny` skips it; `always_allow` also lets the
    /// tool run without asking from now on. Then the model is told what happened and its answer
    /// streams as Server-Sent Events, exactly like `POST /conversations/{conversation_id}/messages`.
    /// A decision is applied once: 409 when the approval was already decided (or expired), or
    /// while a reply is being generated in the conversation; 404 for an unknown approval.
    #[oai(
        path = "/conversations/:conversation_id/approvals/:approval_id",
        method = "post",
        operation_id = "decideApproval"
    )]
    async fn decide(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        /// The approval's id (from `tool_approval` or the list of pending approvals).
        approval_id: Path<i64>,
        body: Json<DecideApproval>,
    ) -> Result<AnswerStream, ApiError> {
        let since = std::time::Instant::now();
        let (user, id) = (session.0.user_id, ConversationId(conversation_id.0));
        let started = turn_start::decide(&state, user, id, ApprovalId(approval_id.0), body.0, since).await;
        answer_stream(id, started)
    }
}

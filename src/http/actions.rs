//! The action log: every tool call executed on the person's accounts (and every one they
//! declined), newest first; kept when its conversation is deleted.

use super::conversations::{example_time, page};
use super::session::Authenticated;
use super::{ApiError, ApiTags};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use meai_core::consent::{ActionDecision, ActionFilter, ActionOutcome, ActionRecord};
use meai_core::{ActionId, ConversationId, ToolkitSlug};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object, OpenApi, payload::Json};
use serde_json::{Value, json};

pub struct ActionsApi;

/// Page size without `limit`.
const DEFAULT_LIMIT: u64 = 100;

/// How the call came to run, or why it did not: `auto` (its policy let it), `approved`,
/// `edited` (approved with the person's arguments), `denied`, `expired`.
#[derive(Debug, Enum)]
#[oai(rename_all = "lowercase")]
enum ActionDecisionValue {
    Auto,
    Approved,
    Edited,
    Denied,
    Expired,
}

/// `succeeded`, `failed` (see `error`), or `not_run` (denied or expired).
#[derive(Debug, Enum)]
#[oai(rename_all = "snake_case")]
enum ActionOutcomeValue {
    Succeeded,
    Failed,
    NotRun,
}

/// One entry of the action log.
#[derive(Debug, Object)]
#[oai(example)]
pub(super) struct ActionOut {
    action_id: i64,
    user_id: i64,
    /// Kept when the conversation is deleted.
    #[oai(nullable)]
    conversation_id: Option<i64>,
    /// The person's message whose turn made the call.
    #[oai(nullable)]
    message_id: Option<i64>,
    /// The approval it was decided by, if it asked.
    #[oai(nullable)]
    approval_id: Option<i64>,
    toolkit: String,
    tool: String,
    /// As executed, secrets and tokens redacted.
    arguments: Value,
    decision: ActionDecisionValue,
    outcome: ActionOutcomeValue,
    /// Why it failed.
    #[oai(nullable)]
    error: Option<String>,
    /// Identifiers the provider returned (message id, event id, link...), by their place in the
    /// result.
    provider_ids: Value,
    created_at: DateTime<Utc>,
}

impl Example for ActionOut {
    fn example() -> Self {
        Self {
            action_id: 5,
            user_id: 1,
            conversation_id: Some(42),
            message_id: Some(7),
            approval_id: Some(12),
            toolkit: "GMAIL".into(),
            tool: "GMAIL_SEND_EMAIL".into(),
            arguments: json!({"recipient_email": "bob@example.com", "subject": "Lunch", "body": "Friday at noon?"}),
            decision: ActionDecisionValue::Approved,
            outcome: ActionOutcomeValue::Succeeded,
            error: None,
            provider_ids: json!({"id": "18c2a4f0", "threadId": "18c2a4e9"}),
            created_at: example_time(9, 42),
        }
    }
}

impl From<ActionRecord> for ActionOut {
    fn from(a: ActionRecord) -> Self {
        let (outcome, error) = match a.outcome {
            ActionOutcome::Succeeded => (ActionOutcomeValue::Succeeded, None),
            ActionOutcome::Failed(e) => (ActionOutcomeValue::Failed, Some(e)),
            ActionOutcome::NotRun => (ActionOutcomeValue::NotRun, None),
        };
        Self {
            action_id: a.id.0,
            user_id: a.user_id.0,
            conversation_id: a.call.conversation_id.map(|c| c.0),
            message_id: a.call.message_id.map(|m| m.0),
            approval_id: a.call.approval_id.map(|x| x.0),
            toolkit: a.call.toolkit,
            tool: a.call.tool,
            arguments: a.call.arguments,
            decision: match a.decision {
                ActionDecision::Auto => ActionDecisionValue::Auto,
                ActionDecision::Approved => ActionDecisionValue::Approved,
                ActionDecision::Edited => ActionDecisionValue::Edited,
                ActionDecision::Denied => ActionDecisionValue::Denied,
                ActionDecision::Expired => ActionDecisionValue::Expired,
            },
            outcome,
            error,
            provider_ids: a.provider_ids,
            created_at: a.created_at,
        }
    }
}

/// Entries of the action log, newest first.
#[derive(Debug, Object)]
struct ActionList {
    actions: Vec<ActionOut>,
}

async fn list(
    state: &AppState,
    user: meai_core::UserId,
    filter: ActionFilter,
    limit: Option<u64>,
    before: Option<i64>,
) -> Result<Json<ActionList>, ApiError> {
    let page = page(Some(limit.unwrap_or(DEFAULT_LIMIT)), before.map(ActionId))?;
    let actions = state.consent.actions(user, &filter, page).await?;
    Ok(Json(ActionList {
        actions: actions.into_iter().map(Into::into).collect(),
    }))
}

#[OpenApi(tag = "ApiTags::Consent")]
impl ActionsApi {
    /// The action log
    ///
    /// Every tool call executed on the person's accounts, and every one declined or expired,
    /// newest first: what ran, with which arguments (secrets redacted), how it was allowed, the
    /// outcome and the provider's ids. `limit` (1-1000, default 100), `before` (an `action_id`:
    /// older entries), `toolkit` and `conversation_id` filter. Entries stay when their
    /// conversation is deleted.
    #[oai(path = "/actions", method = "get", operation_id = "listActions")]
    async fn list_all(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// Page size (1-1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
        /// Only entries older than this action id.
        before: Query<Option<i64>>,
        /// Only this toolkit's (e.g. `GMAIL`, any case).
        #[oai(validator(pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        toolkit: Query<Option<String>>,
        /// Only this conversation's (deleted ones too).
        conversation_id: Query<Option<i64>>,
    ) -> Result<Json<ActionList>, ApiError> {
        let toolkit = match toolkit.0.as_deref() {
            Some(raw) => Some(
                ToolkitSlug::parse(raw)
                    .ok_or_else(|| ApiError::bad_request(format!("Invalid toolkit: {raw:?}")))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let filter = ActionFilter {
            conversation: conversation_id.0.map(ConversationId),
            toolkit,
        };
        list(&state, session.0.user_id, filter, limit.0, before.0).await
    }

    /// The action log of a conversation
    ///
    /// Like `GET /actions?conversation_id=...`: what the assistant did (or was refused) in this
    /// conversation, newest first, also after the conversation was deleted (then it is the only
    /// way to see it); another person's conversation lists nothing.
    #[oai(
        path = "/conversations/:conversation_id/actions",
        method = "get",
        operation_id = "listConversationActions"
    )]
    async fn list_conversation(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        /// Page size (1-1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
        /// Only entries older than this action id.
        before: Query<Option<i64>>,
    ) -> Result<Json<ActionList>, ApiError> {
        let filter = ActionFilter {
            conversation: Some(ConversationId(conversation_id.0)),
            toolkit: None,
        };
        list(&state, session.0.user_id, filter, limit.0, before.0).await
    }
}

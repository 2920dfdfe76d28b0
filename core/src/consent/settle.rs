//! Settling approvals that will not run (declined, or expired), the same way wherever it
//! happens: the decision is stored (once), the action log records it, the conversation keeps a
//! note, and the model will be told.

use super::{ActionCall, Approval, ApprovalEvent, Consent, NewAction, Policies, Refused, Resolution, redact, text};
use crate::{ConversationId, MessageId, MessageKind, NewMessage, Page, Store, StoreError, UserId};
use chrono::Utc;

/// Rules kept per person at most (the policy endpoints refuse more).
pub const MAX_RULES: u64 = 500;

/// The operator's mode with the user's rules.
pub(crate) async fn policies(store: &dyn Store, consent: &Consent, user: UserId) -> Result<Policies, StoreError> {
    let page = Page {
        limit: Some(MAX_RULES),
        before: None,
    };
    let rules = store.list_tool_policies(user, page).await?;
    Ok(Policies::new(consent.settings.mode, rules))
}

/// The action-log view of an approval's call, with `arguments` as run (or as asked).
pub(crate) fn call_of(approval: &Approval, arguments: &serde_json::Value) -> ActionCall {
    ActionCall {
        conversation_id: Some(approval.conversation_id),
        message_id: approval.message_id,
        approval_id: Some(approval.id),
        toolkit: approval.toolkit.clone(),
        tool: approval.tool.clone(),
        arguments: redact(arguments),
    }
}

/// Stores an entry of the action log; a failure is logged: the call already happened (or was
/// already refused), and the person's answer must not be lost over the log.
pub(crate) async fn record(store: &dyn Store, user: UserId, action: NewAction) {
    if let Err(e) = store.record_action(user, &action).await {
        tracing::error!(error = %e, tool = %action.call.tool, "could not record an action");
    }
}

/// Stores a `Tool` message about a settled call in its conversation; its id, when stored.
pub(crate) async fn note(store: &dyn Store, approval: &Approval, content: String) -> Option<MessageId> {
    let note = NewMessage::new(MessageKind::Tool, content);
    match store
        .append_message(approval.user_id, approval.conversation_id, &note)
        .await
    {
        Ok(m) => Some(m.id),
        Err(e) => {
            tracing::warn!(error = %e, "could not store the note of a settled tool call");
            None
        }
    }
}

/// Declines (or expires) a pending approval, then [`refused`]. `Conflict` when it was no longer
/// pending: someone else settled it first, and nothing else happens here.
pub(crate) async fn refuse(
    store: &dyn Store,
    consent: &Consent,
    approval: &Approval,
    refused_as: Refused,
) -> Result<Approval, StoreError> {
    let resolution = match refused_as {
        Refused::Denied => Resolution::Denied,
        Refused::Expired => Resolution::Expired,
    };
    let settled = store
        .resolve_approval(approval.user_id, approval.id, &resolution, Utc::now())
        .await?;
    refused(store, consent, approval, refused_as).await;
    Ok(settled)
}

/// What follows a refusal once it is stored: counted, logged as an action that did not run,
/// noted in the conversation (the note's id is returned), and what the model will be told.
pub(crate) async fn refused(
    store: &dyn Store,
    consent: &Consent,
    approval: &Approval,
    refused: Refused,
) -> Option<MessageId> {
    let user = approval.user_id;
    let expired = refused == Refused::Expired;
    let event = if expired {
        ApprovalEvent::Expired
    } else {
        ApprovalEvent::Denied
    };
    consent.observe(&approval.toolkit, event);
    record(
        store,
        user,
        NewAction::not_run(call_of(approval, &approval.arguments), refused),
    )
    .await;
    let id = note(store, approval, text::not_run_note(&approval.tool, expired)).await;
    if let Err(e) = store
        .set_approval_result(user, approval.id, &text::not_run_result(expired))
        .await
    {
        tracing::warn!(error = %e, "could not store what the model is told about an approval");
    }
    id
}

/// The conversation's pending approvals, after denying those past their expiry.
pub(crate) async fn pending(
    store: &dyn Store,
    consent: &Consent,
    user: UserId,
    conversation: ConversationId,
) -> Result<Vec<Approval>, StoreError> {
    let now = Utc::now();
    let mut live = Vec::new();
    for approval in store.pending_approvals(user, conversation).await? {
        if !approval.is_stale(now) {
            live.push(approval);
            continue;
        }
        match refuse(store, consent, &approval, Refused::Expired).await {
            Ok(_) => tracing::info!(approval_id = %approval.id, tool = %approval.tool, "approval expired"),
            // Decided meanwhile, elsewhere: no longer pending either way.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(live)
}

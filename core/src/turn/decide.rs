//! Decisions on pending approvals: [`Turns::decide`] (a `tool_decision` event or the REST call),
//! and the text fallback of [`Turns::start`] for clients that know nothing of approvals (a plain
//! "yes" approves what is pending; any other message declines it and is answered as usual).
//!
//! A decision is stored first, atomically (a second decision, from another tab or a retry, is
//! refused), then a new run acts on it: approved calls run and are logged, declined ones are
//! logged as such, and once every call of the model's step is settled the turn goes on: the model
//! hears what became of its calls and answers.

use super::gate::{self, MAX_ARGUMENT_BYTES, Resume};
use super::run::Turn;
use super::service::{Deps, StartedTurn, Turns};
use super::step::publish;
use super::{RunEvent, RunWriter, TurnEvent};
use crate::consent::settle::{self, call_of, record};
use crate::consent::{
    Allowed, Approval, ApprovalEvent, Decision, NewAction, NewPolicyRule, PolicyScope, PolicySetting, Refused,
    Resolution, ToolName, text,
};
use crate::model::{ChatMessage, ToolCall};
use crate::{
    ApprovalId, Conversation, ConversationId, CoreError, Message, MessageId, MessageKind, Page, StoreError,
    ToolkitSlug, UserId,
};
use chrono::Utc;
use futures::future::join_all;
use futures::stream::BoxStream;
use serde_json::Value;
use std::sync::Arc;

/// What the model is told about an approved call whose result was never stored (its instance
/// stopped while running it).
const UNKNOWN_OUTCOME: &str = "The outcome of this action is unknown: check before retrying it.";

fn already(resolution: &Resolution) -> CoreError {
    CoreError::Conflict(format!("This approval was already {}", resolution.as_str()))
}

const EXPIRED: &str = "This approval expired: the action was not performed";

impl Turns {
    /// Applies a person's decision on a pending approval of the conversation and starts the run
    /// that acts on it. `NotFound` for an unknown (or someone else's) approval, `Conflict` when
    /// it was already decided or expired (or a reply is being generated), `Invalid` when edited
    /// arguments do not fit the tool.
    #[tracing::instrument(skip_all, fields(user_id = %user, conversation_id = %conversation, approval_id = %approval))]
    pub async fn decide(
        &self,
        user: UserId,
        conversation: ConversationId,
        approval: ApprovalId,
        decision: Decision,
    ) -> Result<StartedTurn, CoreError> {
        let d = &self.deps;
        let conv = d
            .store
            .get_conversation(user, conversation)
            .await
            .map_err(CoreError::store("Conversation"))?;
        let pending = d
            .store
            .get_approval(user, approval)
            .await
            .map_err(CoreError::store("Approval"))?;
        if pending.conversation_id != conversation {
            return Err(CoreError::NotFound("Approval"));
        }
        if let Some(r) = pending.resolution() {
            return Err(already(r));
        }
        if pending.is_stale(Utc::now()) {
            match settle::refuse(&*d.store, &d.consent, &pending, Refused::Expired).await {
                Ok(_) | Err(StoreError::Conflict(_)) => return Err(CoreError::Conflict(EXPIRED.into())),
                Err(e) => return Err(CoreError::store("Approval")(e)),
            }
        }
        let (resolution, always_allow) = match decision {
            Decision::Approve {
                arguments,
                always_allow,
            } => (approved(d, user, &pending, arguments).await?, always_allow),
            Decision::Deny => (Resolution::Denied, false),
        };
        // The run first: while a reply is being generated the decision waits (409), and a
        // decision that loses the race below ends the run it began by dropping the writer.
        // Everything that can fail comes before the decision is stored, so a stored approval
        // is always acted on.
        let writer = d.runs.begin(conversation, user).await?;
        let human = answered(d, user, &pending).await?;
        // Attached before the work runs, so the sender sees the run from its first event.
        let events = match d.runs.attach(conversation, 0).await? {
            Some(attachment) => attachment.events,
            None => return Err(CoreError::Runs("a run just begun could not be attached".into())),
        };
        let decided = match d.store.resolve_approval(user, approval, &resolution, Utc::now()).await {
            Ok(a) => a,
            Err(StoreError::Conflict(_)) => {
                let now = d.store.get_approval(user, approval).await.ok();
                return Err(match now.as_ref().and_then(Approval::resolution) {
                    Some(r) => already(r),
                    None => CoreError::Conflict("This approval was already decided".into()),
                });
            }
            Err(e) => return Err(CoreError::store("Approval")(e)),
        };
        if let Resolution::Approved { .. } = resolution {
            d.consent.observe(&decided.toolkit, ApprovalEvent::Approved);
        }
        if always_allow {
            allow_always(d, user, &decided).await;
        }
        let deps = self.deps.clone();
        Ok(settlement(deps, writer, events, user, conv, human, vec![decided]))
    }
}

/// The resolution of an approval approved with `arguments` (or as the model asked).
async fn approved(d: &Deps, user: UserId, a: &Approval, arguments: Option<Value>) -> Result<Resolution, CoreError> {
    let arguments = match arguments {
        Some(args) if args != a.arguments => args,
        _ => {
            return Ok(Resolution::Approved {
                arguments: a.arguments.clone(),
                edited: false,
            });
        }
    };
    if !arguments.is_object() {
        return Err(CoreError::Invalid("The edited arguments must be a JSON object".into()));
    }
    if arguments.to_string().len() > MAX_ARGUMENT_BYTES {
        return Err(CoreError::Invalid(format!(
            "The edited arguments must be at most {MAX_ARGUMENT_BYTES} bytes of JSON"
        )));
    }
    let tools = d
        .tools
        .as_ref()
        .ok_or_else(|| CoreError::Invalid(format!("{} is not available on this server", a.tool)))?;
    let available = tools
        .available(user)
        .await
        .map_err(|e| CoreError::Unavailable(format!("The toolkits are unavailable, try again ({e})")))?;
    let spec = available.into_iter().find(|t| t.name == a.tool).ok_or_else(|| {
        CoreError::Invalid(format!(
            "{} is no longer available (is its toolkit still connected?)",
            a.tool
        ))
    })?;
    if let Some(validator) = &d.consent.validator {
        validator.validate(&spec.parameters, &arguments).map_err(|reason| {
            CoreError::Invalid(format!(
                "The edited arguments do not match the input schema of {}: {reason}",
                a.tool
            ))
        })?;
    }
    Ok(Resolution::Approved {
        arguments,
        edited: true,
    })
}

/// "Always allow this tool": the person's rule for the tool becomes `auto`.
async fn allow_always(d: &Deps, user: UserId, a: &Approval) {
    let scope = match (ToolkitSlug::parse(&a.toolkit), ToolName::parse(&a.tool)) {
        (Some(toolkit), Some(tool)) => PolicyScope::Tool { toolkit, tool },
        _ => return tracing::warn!(tool = %a.tool, "cannot store a policy for this tool name"),
    };
    let stored = match NewPolicyRule::new(scope, PolicySetting::Auto) {
        Ok(rule) => d.store.put_tool_policy(user, &rule).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match stored {
        Ok(_) => tracing::info!(tool = %a.tool, "tool always allowed from now on"),
        Err(e) => tracing::warn!(error = %e, "could not store the always-allow policy"),
    }
}

/// The human message the decided call's turn answered (the conversation's latest one when that
/// one is gone or far back): what the continued turn ranks tools and recalls against.
async fn answered(d: &Deps, user: UserId, a: &Approval) -> Result<Message, CoreError> {
    let page = Page {
        limit: Some(d.settings.history_limit),
        before: None,
    };
    let recent = d
        .store
        .list_messages(user, a.conversation_id, page)
        .await
        .map_err(CoreError::store("Conversation"))?;
    let human = recent
        .iter()
        .find(|m| Some(m.id) == a.message_id)
        .or_else(|| recent.iter().rev().find(|m| m.kind == MessageKind::Human));
    Ok(match human {
        Some(m) => m.clone(),
        None => Message {
            id: a.message_id.unwrap_or(MessageId(0)),
            conversation_id: a.conversation_id,
            user_id: user,
            kind: MessageKind::Human,
            content: String::new(),
            client_message_id: None,
            parent_id: None,
            usage: None,
            created_at: a.created_at,
        },
    })
}

/// The text fallback, before a new message is stored: the conversation's pending approvals (the
/// expired ones denied first). A plain "yes" approves them (returned, to settle once the message
/// is stored); any other message declines them.
pub(super) async fn answer_pending(
    d: &Deps,
    user: UserId,
    conversation: ConversationId,
    message: &str,
) -> Result<Vec<Approval>, CoreError> {
    let pending = settle::pending(&*d.store, &d.consent, user, conversation)
        .await
        .map_err(CoreError::store("Conversation"))?;
    if pending.is_empty() || text::is_plain_yes(message) {
        return Ok(pending);
    }
    for a in &pending {
        match settle::refuse(&*d.store, &d.consent, a, Refused::Denied).await {
            Ok(_) => tracing::info!(approval_id = %a.id, "declined by the next message"),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(CoreError::store("Conversation")(e)),
        }
    }
    Ok(Vec::new())
}

/// Approves `pending` as the model asked (the plain "yes"); those decided meanwhile elsewhere
/// are left out.
pub(super) async fn approve_all(d: &Deps, user: UserId, pending: Vec<Approval>) -> Vec<Approval> {
    let mut decided = Vec::new();
    for a in pending {
        let resolution = Resolution::Approved {
            arguments: a.arguments.clone(),
            edited: false,
        };
        match d.store.resolve_approval(user, a.id, &resolution, Utc::now()).await {
            Ok(approved) => {
                d.consent.observe(&approved.toolkit, ApprovalEvent::Approved);
                decided.push(approved);
            }
            Err(e) => tracing::warn!(approval_id = %a.id, error = %e, "could not approve"),
        }
    }
    decided
}

/// The run that acts on `decided` (see [`Settlement`]), with its events from the first.
pub(super) fn settlement(
    deps: Arc<Deps>,
    writer: Box<dyn RunWriter>,
    events: BoxStream<'static, RunEvent>,
    user: UserId,
    conversation: Conversation,
    human: Message,
    decided: Vec<Approval>,
) -> StartedTurn {
    let run = writer.run();
    let work = Settlement {
        deps,
        writer,
        user,
        conversation,
        human: human.clone(),
        decided,
    };
    StartedTurn {
        run,
        human,
        events,
        work: Box::pin(work.run()),
    }
}

/// The run of a decision: acts on the decided calls, then, if their model step has no call left
/// waiting, continues the turn with what became of them.
struct Settlement {
    deps: Arc<Deps>,
    writer: Box<dyn RunWriter>,
    user: UserId,
    conversation: Conversation,
    human: Message,
    decided: Vec<Approval>,
}

impl Settlement {
    async fn run(self) {
        for a in &self.decided {
            if let Some(Resolution::Approved { .. }) = a.resolution() {
                let content = format!("Using {}", a.tool);
                publish(&*self.writer, TurnEvent::Tool { content }).await;
            }
        }
        let notes: Vec<MessageId> = join_all(self.decided.iter().map(|a| self.act(a)))
            .await
            .into_iter()
            .flatten()
            .collect();
        match self.resume(notes).await {
            Some(resume) => {
                let turn = Turn {
                    deps: self.deps,
                    writer: self.writer,
                    user: self.user,
                    conversation: self.conversation,
                    human: self.human,
                    announce: false,
                    resume: Some(resume),
                    recalled: None,
                };
                turn.run().await;
            }
            None => {
                publish(&*self.writer, TurnEvent::LastChunk { stopped: false }).await;
                self.writer.finish().await;
            }
        }
    }

    /// Runs (or records the refusal of) one decided call; the id of its note in the conversation.
    async fn act(&self, a: &Approval) -> Option<MessageId> {
        let d = &self.deps;
        let (arguments, allowed) = match a.resolution() {
            Some(Resolution::Approved { arguments, edited }) => {
                (arguments, if *edited { Allowed::Edited } else { Allowed::Approved })
            }
            Some(Resolution::Denied) | Some(Resolution::Expired) => {
                let refused = if a.resolution() == Some(&Resolution::Denied) {
                    Refused::Denied
                } else {
                    Refused::Expired
                };
                let content = text::not_run_note(&a.tool, refused == Refused::Expired);
                publish(&*self.writer, TurnEvent::Tool { content }).await;
                return settle::refused(&*d.store, &d.consent, a, refused).await;
            }
            None => return None,
        };
        let call = ToolCall::new(&a.call_id, &a.tool, arguments.clone());
        let (result, outcome) = gate::execute(d, self.user, &call).await;
        let action = NewAction::ran(call_of(a, arguments), allowed, outcome.map_err(|e| e.to_string()));
        record(&*d.store, self.user, action).await;
        let labelled = gate::publish_result(&*self.writer, &a.tool, &result).await;
        if let Err(e) = d.store.set_approval_result(self.user, a.id, &result).await {
            tracing::warn!(error = %e, "could not store the result of an approved call");
        }
        settle::note(&*d.store, a, labelled).await
    }

    /// The continuation, once every call of the decided batches is settled; `None` while some
    /// still wait for the person (or the batch cannot be read).
    async fn resume(&self, replaced: Vec<MessageId>) -> Option<Resume> {
        let d = &self.deps;
        let mut batches: Vec<ApprovalId> = self.decided.iter().map(|a| a.batch).collect();
        batches.sort_unstable();
        batches.dedup();
        let mut members = Vec::new();
        for batch in batches {
            match d.store.approval_batch(self.user, batch).await {
                Ok(all) if all.iter().any(Approval::is_pending) => return None,
                Ok(all) => members.extend(all),
                Err(e) => {
                    tracing::error!(error = %e, "could not read the approvals of a step");
                    return None;
                }
            }
        }
        let calls: Vec<ToolCall> = members
            .iter()
            .map(|a| {
                let arguments = match a.resolution() {
                    Some(Resolution::Approved { arguments, .. }) => arguments.clone(),
                    _ => a.arguments.clone(),
                };
                ToolCall::new(&a.call_id, &a.tool, arguments)
            })
            .collect();
        let mut messages = vec![ChatMessage::assistant_with_tools("", calls.clone())];
        messages.extend(
            members
                .iter()
                .zip(&calls)
                .map(|(a, call)| ChatMessage::tool_result(call, a.result.as_deref().unwrap_or(UNKNOWN_OUTCOME))),
        );
        let tools = match &d.tools {
            Some(t) => t.available(self.user).await.unwrap_or_default(),
            None => Vec::new(),
        };
        let tools = tools
            .into_iter()
            .filter(|t| members.iter().any(|a| a.tool == t.name))
            .collect();
        Some(Resume {
            messages,
            replaced,
            tools,
        })
    }
}

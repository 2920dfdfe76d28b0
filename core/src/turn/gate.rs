//! The tool-call part of the turn, under the person's consent ([`crate::consent`]): `never`
//! tools are not offered; of the calls the model makes, those whose policy is `auto` run (in
//! parallel) and are logged, and the others are stored as one batch of pending approvals, asked
//! for in readable text and `tool_approval` events, and the run ends. Nothing waits in memory.
//!
//! A decision run ([`super::decide`]) settles approvals and, once a whole batch is settled,
//! continues the turn with a [`Resume`]: the model's calls and what became of them.

use super::checkpoint::Checkpoints;
use super::run::{Outcome, Turn};
use super::service::Deps;
use super::step::{StopSignal, publish};
use super::{RunWriter, ToolError, TurnEvent};
use crate::consent::settle::{self, record};
use crate::consent::{
    ActionCall, Allowed, Approval, ApprovalEvent, ApprovalMode, NewAction, NewApproval, Policies, ToolPolicy, redact,
    text,
};
use crate::model::{ChatMessage, ToolCall, ToolSpec};
use crate::{Message, MessageId, MessageKind, NewMessage, UserId};
use chrono::Utc;
use futures::future::{Either, join_all, select};
use serde_json::Value;

/// Longest arguments (as JSON) a call may wait for approval with.
pub(super) const MAX_ARGUMENT_BYTES: usize = 64 * 1024;

/// The person's policies for this turn.
pub(super) struct Gate {
    policies: Policies,
}

impl Gate {
    pub(super) async fn load(deps: &Deps, user: UserId) -> Self {
        let policies = match settle::policies(&*deps.store, &deps.consent, user).await {
            Ok(p) => p,
            Err(e) => {
                // The person's rules are unknown: ask for everything rather than guess.
                tracing::warn!(error = %e, "could not read tool policies: every tool call asks");
                Policies::new(ApprovalMode::AskAll, Vec::new())
            }
        };
        Self { policies }
    }

    fn policy(&self, spec: &ToolSpec) -> ToolPolicy {
        self.policies.policy(&spec.toolkit(), &spec.name, &spec.hints)
    }

    /// The tools to offer: `tools` without the `never` ones, plus those a resumed batch used.
    pub(super) fn offered(&self, mut tools: Vec<ToolSpec>, resume: Option<&Resume>) -> Vec<ToolSpec> {
        tools.retain(|t| self.policy(t) != ToolPolicy::Never);
        for spec in resume.map(|r| r.tools.as_slice()).unwrap_or_default() {
            if !tools.iter().any(|t| t.name == spec.name) && self.policy(spec) != ToolPolicy::Never {
                tools.push(spec.clone());
            }
        }
        tools
    }
}

/// How a step's tool calls went.
pub(super) enum Ran {
    /// Every call ran: the results to feed back.
    Results(Vec<ChatMessage>),
    /// Some calls wait for the person: this batch was stored.
    Asked(Vec<Approval>),
    Stopped,
    /// The approvals could not be stored (the `error` event was published).
    Failed,
}

/// What a decision run adds to the context: the model's calls and their results, in place of
/// the stored notes of those results.
#[derive(Debug, Clone, Default)]
pub(super) struct Resume {
    pub messages: Vec<ChatMessage>,
    /// Stored notes the messages replace.
    pub replaced: Vec<MessageId>,
    /// The tools the calls used, offered again so the model can go on with them.
    pub tools: Vec<ToolSpec>,
}

impl Resume {
    /// `history` without the notes the resume replaces.
    pub(super) fn history(&self, mut history: Vec<Message>) -> Vec<Message> {
        history.retain(|m| !self.replaced.contains(&m.id));
        history
    }
}

/// A call's arguments as the action log keeps them.
fn logged(call: &ToolCall, spec: Option<&ToolSpec>, message: Option<MessageId>) -> ActionCall {
    ActionCall {
        conversation_id: None,
        message_id: message,
        approval_id: None,
        toolkit: spec.map_or_else(|| crate::model::toolkit_of(&call.name), ToolSpec::toolkit),
        tool: call.name.clone(),
        arguments: redact(&call.arguments),
    }
}

/// A tool's result text as JSON (Composio's `data`), or as a string when it is not JSON.
pub(super) fn result_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Publishes a call's result as a `tool` event, labelled as the conversation keeps it
/// (`[TOOL_SLUG] result`); the label.
pub(super) async fn publish_result(writer: &dyn RunWriter, tool: &str, result: &str) -> String {
    let labelled = format!("[{}] {result}", tool.to_uppercase());
    publish(
        writer,
        TurnEvent::Tool {
            content: labelled.clone(),
        },
    )
    .await;
    labelled
}

/// Runs a call through the executor: the text for the model, and the result for the log.
pub(super) async fn execute(deps: &Deps, user: UserId, call: &ToolCall) -> (String, Result<Value, ToolError>) {
    let result = match &deps.tools {
        Some(tools) => tools.execute(user, call).await,
        None => Err(ToolError::Unknown(call.name.clone())),
    };
    match result {
        Ok(out) => {
            let value = result_value(&out);
            (out, Ok(value))
        }
        Err(e) => {
            tracing::warn!(tool = %call.name, error = %e, "tool failed");
            (format!("error: {e}"), Err(e))
        }
    }
}

impl Turn {
    /// Runs the calls the person's policies allow (in parallel, each announced, logged and
    /// persisted) and stores the others as pending approvals.
    pub(super) async fn run_tools(
        &self,
        calls: &[ToolCall],
        stop: &StopSignal,
        gate: &Gate,
        tools: &[ToolSpec],
    ) -> Ran {
        // A call of a tool not offered this turn (ranked out, or `never`) is judged by the
        // tool itself, never let through for lack of a spec.
        let unoffered = calls.iter().any(|c| !tools.iter().any(|t| t.name == c.name));
        let available = match (&self.deps.tools, unoffered) {
            (Some(t), true) => t.available(self.user).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "toolkits unavailable: unoffered tool calls are refused");
                Vec::new()
            }),
            _ => Vec::new(),
        };
        let mut now = Vec::new();
        let mut ask = Vec::new();
        let mut blocked = Vec::new();
        for call in calls {
            let spec = tools.iter().chain(&available).find(|t| t.name == call.name);
            match spec.map(|s| (s, gate.policy(s))) {
                Some((_, ToolPolicy::Never)) => blocked.push(call),
                // Malformed arguments go to the executor, which refuses them.
                Some((spec, ToolPolicy::Ask)) if call.arguments.is_object() => ask.push((call, spec)),
                // Unknown tools too: the executor refuses them.
                _ => now.push((call, spec)),
            }
        }
        for (call, _) in &now {
            let content = format!("Using {}", call.name);
            publish(&*self.writer, TurnEvent::Tool { content }).await;
        }
        let all = join_all(now.iter().map(|(call, spec)| self.run_tool(call, *spec)));
        let mut results = match select(Box::pin(all), stop.clone()).await {
            Either::Left((results, _)) => results,
            Either::Right(_) => return Ran::Stopped,
        };
        for call in blocked {
            results.push(self.refuse_blocked(call).await);
        }
        if ask.is_empty() {
            return Ran::Results(results);
        }
        match self.store_approvals(&ask).await {
            Some(approvals) => Ran::Asked(approvals),
            None => Ran::Failed,
        }
    }

    async fn run_tool(&self, call: &ToolCall, spec: Option<&ToolSpec>) -> ChatMessage {
        let (result, outcome) = execute(&self.deps, self.user, call).await;
        // Only calls that reached a tool are actions; a made-up tool is the model's mistake.
        if !matches!(outcome, Err(ToolError::Unknown(_))) {
            let mut logged = logged(call, spec, Some(self.human.id));
            logged.conversation_id = Some(self.conversation.id);
            let outcome = outcome.map_err(|e| e.to_string());
            record(
                &*self.deps.store,
                self.user,
                NewAction::ran(logged, Allowed::Auto, outcome),
            )
            .await;
        }
        self.report(call, result).await
    }

    /// A call's result: shown (`tool` event), kept in the conversation, and for the model.
    async fn report(&self, call: &ToolCall, result: String) -> ChatMessage {
        let labelled = publish_result(&*self.writer, &call.name, &result).await;
        self.persist(MessageKind::Tool, labelled).await;
        ChatMessage::tool_result(call, result)
    }

    /// A call of a tool the person's rules never allow: not run, and the model is told why.
    async fn refuse_blocked(&self, call: &ToolCall) -> ChatMessage {
        tracing::info!(tool = %call.name, "call of a tool the person's rules block");
        let result = format!(
            "error: {} is not allowed: the user's tool settings never let it run",
            call.name
        );
        self.report(call, result).await
    }

    async fn store_approvals(&self, ask: &[(&ToolCall, &ToolSpec)]) -> Option<Vec<Approval>> {
        let d = &self.deps;
        let expires_at = d.consent.settings.ttl.map(|ttl| Utc::now() + ttl);
        let new: Vec<NewApproval> = ask
            .iter()
            .map(|(call, spec)| {
                let toolkit = spec.toolkit();
                NewApproval {
                    message_id: Some(self.human.id),
                    call_id: call.id.clone(),
                    summary: text::summary(&toolkit, &call.name, &call.arguments),
                    toolkit,
                    tool: call.name.clone(),
                    arguments: call.arguments.clone(),
                    expires_at,
                }
            })
            .collect();
        let too_big = new.iter().any(|a| a.arguments.to_string().len() > MAX_ARGUMENT_BYTES);
        let stored = if too_big {
            Err("arguments too large".to_owned())
        } else {
            d.store
                .create_approvals(self.user, self.conversation.id, &new)
                .await
                .map_err(|e| e.to_string())
        };
        match stored {
            Ok(approvals) => {
                for a in &approvals {
                    d.consent.observe(&a.toolkit, ApprovalEvent::Requested);
                }
                Some(approvals)
            }
            Err(e) => {
                tracing::error!(error = %e, "could not store approvals");
                let error = "The assistant could not ask for your approval: storage is unavailable, try again".into();
                publish(&*self.writer, TurnEvent::Error { error }).await;
                None
            }
        }
    }

    /// Asks for the person's decision: the request as the assistant's text, a `tool_approval`
    /// event per call, and the answer so far (with the request) stored. The run then ends.
    pub(super) async fn ask(
        &self,
        checkpoints: Checkpoints,
        mut text: String,
        approvals: &[Approval],
        usage: Option<crate::Usage>,
    ) -> Outcome {
        let mut request = text::request(approvals);
        if !text.trim().is_empty() {
            request.insert_str(0, "\n\n");
        }
        publish(
            &*self.writer,
            TurnEvent::Assistant {
                content: request.clone(),
            },
        )
        .await;
        for a in approvals {
            let event = TurnEvent::ToolApproval {
                approval_id: a.id,
                conversation_id: a.conversation_id,
                toolkit: a.toolkit.clone(),
                tool: a.tool.clone(),
                arguments: a.arguments.clone(),
                summary: a.summary.clone(),
            };
            publish(&*self.writer, event).await;
        }
        text.push_str(&request);
        checkpoints
            .finish(Some(NewMessage::new(MessageKind::Ai, text).with_usage(usage)))
            .await;
        tracing::info!(approvals = approvals.len(), "waiting for the person's decision");
        Outcome::Answered
    }
}

//! The one way a turn starts, whatever the transport (Socket.IO `message`, `edit` and
//! `regenerate`, SSE `POST /conversations/{id}/messages`, `PATCH .../messages/{message_id}` and
//! `POST .../messages/{message_id}/regenerate`; and for a decision on a pending tool call, Socket.IO
//! `tool_decision` and `POST /conversations/{id}/approvals/{approval_id}`): the same payload
//! rules, admission (rate and concurrent answers), the core's start, the run spawned holding its
//! admission permit, and the sender's view of the run from its first event. Refusals come back
//! as a [`Failure`], so both transports say the same thing about the same bad input.

use crate::failure::Failure;
use crate::http::text::{ClientKeyText, MessageText, Text};
use crate::metrics::metered::MeteredStages;
use crate::state::AppState;
use futures::stream::BoxStream;
use meai_core::consent::Decision;
use meai_core::turn::{Ask, RunEvent, RunId, Stage, StageTimes, StartedTurn, TurnRequest};
use meai_core::{ApprovalId, ClientMessageId, ConversationId, Message, MessageId, UserId};
use poem_openapi::types::ParseFromJSON;
use poem_openapi::{Enum, Object};
use std::time::Instant;
use tracing::Instrument;

/// A message to the assistant (the SSE body, and the `message` event's payload).
#[derive(Debug, Clone, Object)]
pub struct SendMessage {
    /// What the person says: not blank, without U+0000, at most `MAX_MESSAGE_CHARS` characters
    /// (32000 unless the server sets another limit).
    pub content: Text<MessageText>,
    /// Makes sending idempotent: the same id again replays the stored answer instead of
    /// answering twice. 1 to 128 characters, not blank, without U+0000.
    #[oai(nullable)]
    pub client_message_id: Option<Text<ClientKeyText>>,
}

impl SendMessage {
    /// Reads a socket event's payload exactly as the HTTP edge reads a JSON body.
    pub fn from_payload(payload: serde_json::Value) -> Result<Self, Failure> {
        Self::parse_from_json(Some(payload)).map_err(|e| Failure::invalid_payload(&e.into_message()))
    }
}

/// What a person asks a turn for, as either transport read it.
#[derive(Debug, Clone)]
pub enum Asked {
    /// A new message.
    Send(SendMessage),
    /// A new version of the human message `message`.
    Edit { message: MessageId, body: SendMessage },
    /// Another answer in place of the AI message `message`.
    Regenerate { message: MessageId },
}

/// A `regenerate` event's payload (besides its `conversation_id`).
#[derive(Debug, Clone, Object)]
pub struct RegenerateMessage {
    /// The AI message to answer again.
    pub message_id: i64,
}

impl RegenerateMessage {
    pub fn from_payload(payload: serde_json::Value) -> Result<Self, Failure> {
        Self::parse_from_json(Some(payload)).map_err(|e| Failure::invalid_payload(&e.into_message()))
    }
}

/// An `edit` event's payload (besides its `conversation_id`): the message and its new content,
/// read like [`SendMessage`].
#[derive(Debug, Clone, Object)]
pub struct EditMessage {
    /// The human message to edit.
    pub message_id: i64,
    pub content: Text<MessageText>,
    #[oai(nullable)]
    pub client_message_id: Option<Text<ClientKeyText>>,
}

impl EditMessage {
    pub fn from_payload(payload: serde_json::Value) -> Result<Self, Failure> {
        Self::parse_from_json(Some(payload)).map_err(|e| Failure::invalid_payload(&e.into_message()))
    }

    pub fn asked(self) -> Asked {
        Asked::Edit {
            message: MessageId(self.message_id),
            body: SendMessage {
                content: self.content,
                client_message_id: self.client_message_id,
            },
        }
    }
}

/// Run the call, or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ApprovalDecision {
    Approve,
    Deny,
}

/// A person's decision on a pending tool call (the REST body, and the `tool_decision` event's
/// payload besides its `approval_id`).
#[derive(Debug, Clone, Object)]
pub struct DecideApproval {
    pub decision: ApprovalDecision,
    /// With `approve`: arguments to run the call with instead of the model's (a JSON object,
    /// checked against the tool's input schema).
    pub arguments: Option<serde_json::Value>,
    /// With `approve`: also let this tool run without asking from now on.
    pub always_allow: Option<bool>,
}

impl DecideApproval {
    pub fn from_payload(payload: serde_json::Value) -> Result<Self, Failure> {
        Self::parse_from_json(Some(payload)).map_err(|e| Failure::invalid_payload(&e.into_message()))
    }

    fn decision(self) -> Decision {
        match self.decision {
            ApprovalDecision::Approve => Decision::Approve {
                arguments: self.arguments,
                always_allow: self.always_allow.unwrap_or(false),
            },
            ApprovalDecision::Deny => Decision::Deny,
        }
    }
}

/// A run that answers the sender's message.
pub struct Started {
    pub run: RunId,
    pub human: Message,
    /// The run's events from the first, for the sender.
    pub events: BoxStream<'static, RunEvent>,
}

/// `since` is when the edge took up the event or request: from then until the core's start is
/// the admission stage ([`Stage::Admission`]).
pub async fn start(
    state: &AppState,
    user: UserId,
    conversation: ConversationId,
    asked: Asked,
    since: Instant,
) -> Result<Started, Failure> {
    let ask = match asked {
        Asked::Send(message) => Ask::Message(request(message)?),
        Asked::Edit { message, body } => Ask::Edit {
            message,
            request: request(body)?,
        },
        Asked::Regenerate { message } => Ask::Regenerate { message },
    };
    // Limits before anything is stored; the permit is held for the whole turn.
    let permit = state.ops.limits.admit_message(user)?;
    admitted(since);
    let started = state.turns.start(user, conversation, ask).await?;
    Ok(spawn(conversation, permit, started))
}

/// The core's request from a message as sent.
fn request(message: SendMessage) -> Result<TurnRequest, Failure> {
    let client_message_id = match message.client_message_id.and_then(Text::into_inner) {
        Some(raw) => Some(ClientMessageId::parse(&raw).ok_or_else(|| {
            Failure::bad_request(format!(
                "client_message_id must be 1 to {} characters",
                ClientMessageId::MAX_LEN
            ))
        })?),
        None => None,
    };
    Ok(TurnRequest {
        content: message.content.into_inner().unwrap_or_default(),
        client_message_id,
    })
}

/// Applies a decision on a pending approval and starts the run that acts on it.
pub async fn decide(
    state: &AppState,
    user: UserId,
    conversation: ConversationId,
    approval: ApprovalId,
    body: DecideApproval,
    since: Instant,
) -> Result<Started, Failure> {
    let permit = state.ops.limits.admit_message(user)?;
    admitted(since);
    let started = state
        .turns
        .decide(user, conversation, approval, body.decision())
        .await?;
    Ok(spawn(conversation, permit, started))
}

fn admitted(since: Instant) {
    MeteredStages.record(Stage::Admission, since.elapsed());
}

fn spawn(conversation: ConversationId, permit: crate::limits::RunPermit, started: StartedTurn) -> Started {
    let span = tracing::info_span!("turn", conversation_id = %conversation, run = %started.run);
    tokio::spawn(permit.guard(started.work.instrument(span)));
    Started {
        run: started.run,
        human: started.human,
        events: started.events,
    }
}

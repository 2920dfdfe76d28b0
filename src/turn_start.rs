//! The one way a turn starts, whatever the transport (Socket.IO `message`, SSE
//! `POST /conversations/{id}/messages`): the same payload rules, admission (rate and concurrent
//! answers), the core's start, the run spawned holding its admission permit, and the sender's
//! view of the run from its first event. Refusals come back as a [`Failure`], so both
//! transports say the same thing about the same bad input.

use crate::failure::Failure;
use crate::state::AppState;
use futures::stream::BoxStream;
use meai_core::turn::{RunEvent, RunId, TurnRequest};
use meai_core::{ClientMessageId, ConversationId, Message, UserId};
use poem_openapi::Object;
use poem_openapi::types::ParseFromJSON;
use tracing::Instrument;

/// A message to the assistant (the SSE body, and the `message` event's payload).
#[derive(Debug, Clone, Object)]
pub struct SendMessage {
    /// What the person says.
    pub content: String,
    /// Makes sending idempotent: the same id again replays the stored answer instead of
    /// answering twice.
    pub client_message_id: Option<String>,
}

impl SendMessage {
    /// Reads a socket event's payload exactly as the HTTP edge reads a JSON body.
    pub fn from_payload(payload: serde_json::Value) -> Result<Self, Failure> {
        Self::parse_from_json(Some(payload)).map_err(|e| Failure::invalid_payload(&e.into_message()))
    }
}

/// A run that answers the sender's message.
pub struct Started {
    pub run: RunId,
    pub human: Message,
    /// The run's events from the first, for the sender.
    pub events: BoxStream<'static, RunEvent>,
}

pub async fn start(
    state: &AppState,
    user: UserId,
    conversation: ConversationId,
    message: SendMessage,
) -> Result<Started, Failure> {
    let client_message_id = match message.client_message_id.as_deref() {
        Some(raw) => Some(ClientMessageId::parse(raw).ok_or_else(|| {
            Failure::bad_request(format!(
                "client_message_id must be 1 to {} characters",
                ClientMessageId::MAX_LEN
            ))
        })?),
        None => None,
    };
    // Limits before anything is stored; the permit is held for the whole turn.
    let permit = state.ops.limits.admit_message(user)?;
    let request = TurnRequest {
        content: message.content,
        client_message_id,
    };
    let started = state.turns.start(user, conversation, request).await?;
    let span = tracing::info_span!("turn", conversation_id = %conversation, run = %started.run);
    tokio::spawn(permit.guard(started.work.instrument(span)));
    Ok(Started {
        run: started.run,
        human: started.human,
        events: started.events,
    })
}

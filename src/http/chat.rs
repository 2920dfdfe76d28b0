//! The assistant turn over plain HTTP, for API clients without Socket.IO: send a message and
//! read the answer as Server-Sent Events (the same events as the socket), or stop an answer.

use super::detail::Detail;
use super::session::Authenticated;
use super::{ApiError, ApiTags};
use crate::state::AppState;
use crate::turn_start::{self, SendMessage};
use futures::StreamExt;
use futures::stream::BoxStream;
use meai_core::{ConversationId, CoreError};
use poem::http::StatusCode;
use poem::web::Data;
use poem::web::sse::Event;
use poem_openapi::param::Path;
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::time::Duration;

pub struct ChatApi;

/// One event of the answer. The SSE `event:` field names it (`tool`, `assistant`,
/// `tool_approval`, `error`, `last_chunk`), `id:` is `seq`, and `data:` is this object with only
/// the fields of that event: `tool`/`assistant` have `role` and `content`, `tool_approval` has
/// `approval_id`, `toolkit`, `tool`, `arguments` and `summary`, `error` has `error`, `last_chunk`
/// has `last_chunk: true` and `stopped`. (The sender's stream has no `human` event: that one tells
/// the conversation's other Socket.IO tabs the question, with `role`, `content`, `message_id`.)
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct StreamEvent {
    /// Position in the run, from 1, without gaps.
    seq: u64,
    conversation_id: i64,
    /// `tool` or `assistant` (`human` for the question, never in the sender's own stream).
    role: Option<String>,
    /// On `human`: the stored question's id.
    message_id: Option<i64>,
    /// A chunk of the answer, or tool progress.
    content: Option<String>,
    /// Why the answer could not be completed.
    error: Option<String>,
    /// Always the last event of an answer.
    last_chunk: Option<bool>,
    /// On `last_chunk`: the answer was cut short by a stop request.
    stopped: Option<bool>,
    /// On `tool_approval`: the pending approval to decide
    /// (`POST /conversations/{conversation_id}/approvals/{approval_id}`).
    approval_id: Option<i64>,
    /// On `tool_approval`: the toolkit of the tool.
    toolkit: Option<String>,
    /// On `tool_approval`: the tool the assistant wants to call.
    tool: Option<String>,
    /// On `tool_approval`: the call's arguments, as the model gave them.
    arguments: Option<serde_json::Value>,
    /// On `tool_approval`: what the call would do, in one line.
    summary: Option<String>,
}

impl poem_openapi::types::Example for StreamEvent {
    /// An `assistant` chunk (`event: assistant`, `id: 3`).
    fn example() -> Self {
        Self {
            seq: 3,
            conversation_id: 42,
            role: Some("assistant".into()),
            message_id: None,
            content: Some("Here is a plan for".into()),
            error: None,
            last_chunk: None,
            stopped: None,
            approval_id: None,
            toolkit: None,
            tool: None,
            arguments: None,
            summary: None,
        }
    }
}

/// The stop was requested.
#[derive(Debug, Object)]
struct StopRequested {
    message: String,
}

#[derive(ApiResponse)]
pub(crate) enum AnswerStream {
    /// The answer as `text/event-stream`; the stream ends after `last_chunk`. The answer keeps
    /// being generated (and stored) if the client goes away; stop it with
    /// `POST /conversations/{id}/stop`.
    #[oai(status = 200)]
    Events(EventStream<BoxStream<'static, StreamEvent>>),
    /// A limit was reached (messages per minute, or answers being generated at once): retry
    /// after `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<Detail>, #[oai(header = "Retry-After")] u64),
}

/// The SSE frame of an event: named like the Socket.IO event, `id` = `seq`.
fn to_event(e: StreamEvent) -> Event {
    let name = match (&e.role, &e.error, e.last_chunk) {
        (_, _, Some(true)) => "last_chunk",
        _ if e.approval_id.is_some() => "tool_approval",
        (_, Some(_), _) => "error",
        (Some(r), _, _) if r == "tool" => "tool",
        (Some(r), _, _) if r == "human" => "human",
        _ => "assistant",
    };
    let seq = e.seq;
    Event::message(e.to_json_string()).event_type(name).id(seq.to_string())
}

fn stream_event(conversation: ConversationId, e: meai_core::turn::RunEvent) -> StreamEvent {
    use meai_core::turn::TurnEvent;
    let mut out = StreamEvent {
        seq: e.seq,
        conversation_id: conversation.0,
        role: None,
        message_id: None,
        content: None,
        error: None,
        last_chunk: None,
        stopped: None,
        approval_id: None,
        toolkit: None,
        tool: None,
        arguments: None,
        summary: None,
    };
    match e.event {
        TurnEvent::Human { content, message_id } => {
            (out.role, out.content, out.message_id) = (Some("human".into()), Some(content), Some(message_id))
        }
        TurnEvent::Tool { content } => (out.role, out.content) = (Some("tool".into()), Some(content)),
        TurnEvent::Assistant { content } => (out.role, out.content) = (Some("assistant".into()), Some(content)),
        TurnEvent::ToolApproval {
            approval_id,
            toolkit,
            tool,
            arguments,
            summary,
            ..
        } => {
            out.approval_id = Some(approval_id.0);
            (out.toolkit, out.tool, out.summary) = (Some(toolkit), Some(tool), Some(summary));
            out.arguments = Some(arguments);
        }
        TurnEvent::Error { error } => out.error = Some(error),
        TurnEvent::LastChunk { stopped } => (out.last_chunk, out.stopped) = (Some(true), Some(stopped)),
    }
    out
}

/// A started run as the SSE response (or its refusal).
pub(super) fn answer_stream(
    id: ConversationId,
    started: Result<turn_start::Started, crate::failure::Failure>,
) -> Result<AnswerStream, ApiError> {
    let started = match started {
        Ok(started) => started,
        Err(f) if f.status == StatusCode::TOO_MANY_REQUESTS => {
            let retry_after = f.retry_after.unwrap_or(1);
            return Ok(AnswerStream::TooManyRequests(Json(Detail::new(f.detail)), retry_after));
        }
        Err(f) => return Err(f.into()),
    };
    let events = started.events.map(move |e| stream_event(id, e)).boxed();
    Ok(AnswerStream::Events(
        EventStream::new(events)
            .keep_alive(Duration::from_secs(15))
            .to_event(to_event),
    ))
}

#[OpenApi(tag = "ApiTags::Conversations")]
impl ChatApi {
    /// Send a message and stream the answer
    ///
    /// Stores the message, then answers with Server-Sent Events: `tool` (tool progress),
    /// `assistant` (chunks of the answer), `error` (the answer could not be completed; what was
    /// streamed is kept), and always a final `last_chunk`. Refused with 409 while the
    /// conversation is still answering an earlier message.
    #[oai(
        path = "/conversations/:conversation_id/messages",
        method = "post",
        operation_id = "sendMessage"
    )]
    async fn send(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        body: Json<SendMessage>,
    ) -> Result<AnswerStream, ApiError> {
        let since = std::time::Instant::now();
        let (user, id) = (session.0.user_id, ConversationId(conversation_id.0));
        answer_stream(
            id,
            turn_start::start(&state, user, id, turn_start::Asked::Send(body.0), since).await,
        )
    }

    /// Stop the answer being generated
    ///
    /// Cancels the conversation's running answer and its model request. What was streamed so
    /// far is stored (marked as stopped) and listeners receive `last_chunk` with `stopped: true`.
    /// 409 when no answer is being generated.
    #[oai(
        path = "/conversations/:conversation_id/stop",
        method = "post",
        operation_id = "stopAnswer"
    )]
    async fn stop(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
    ) -> Result<Json<StopRequested>, ApiError> {
        let id = ConversationId(conversation_id.0);
        if state.turns.stop(session.0.user_id, id).await? {
            Ok(Json(StopRequested {
                message: "Stop requested".into(),
            }))
        } else {
            Err(CoreError::Conflict("No reply is being generated in this conversation".into()).into())
        }
    }
}

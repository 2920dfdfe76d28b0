//! The `/conversations/stream` namespace: `join_conversation`, `message`, `edit`,
//! `regenerate`, `tool_decision`, `resume`, `stop`.
//!
//! Runs are not tied to sockets: `message` starts a run in the core, and every socket of the
//! conversation's room *follows* it (see [`super::follow`]), each with its own subscription to
//! the run, so a second tab sees the answer and a socket that comes back catches up.

use super::admission::{Admitted, AdmittedMessage, EventLimits, Gate};
use super::auth::SocketUser;
use super::follow::{follow, room};
use super::payloads::{self, DecisionTarget, Resume, Target, Targeted};
use super::wire;
use crate::failure::Failure;
use crate::state::AppState;
use crate::turn_start::{self, Asked, DecideApproval, EditMessage, RegenerateMessage, SendMessage, Started};
use meai_core::turn::Attachment;
use meai_core::{ApprovalId, ConversationId, MessageId, UserId};
use serde_json::{Value, json};
use socketioxide::extract::{Extension, SocketRef, State, TryData};
use tracing::Instrument;

/// Registers the event handlers. A connect *middleware*, not the connect handler: socketioxide
/// spawns the handler after telling the client it is connected, so a client that emits at once
/// (`join_conversation` on `connect`) could beat a handler registered there.
pub async fn register(socket: SocketRef, State(state): State<AppState>) -> Result<(), std::convert::Infallible> {
    if let Some(session) = super::sessions::of(&socket) {
        let gate = Gate::new(EventLimits::new(&state.config), session.expires_at);
        socket.extensions.insert(std::sync::Arc::new(gate));
    }
    socket.on("join_conversation", join_conversation);
    socket.on("message", message);
    socket.on("edit", edit);
    socket.on("regenerate", regenerate);
    socket.on("tool_decision", tool_decision);
    socket.on("resume", resume);
    socket.on("stop", stop);
    crate::metrics::metrics().active_sockets.inc();
    socket.on_disconnect(async |socket: SocketRef| {
        // Events still waiting for their turn are dropped.
        super::admission::bar(&socket);
        crate::metrics::metrics().active_sockets.dec()
    });
    Ok(())
}

pub async fn on_connect(socket: SocketRef) {
    tracing::debug!(sid = %socket.id, transport = ?socket.transport_type(), "socket connected");
}

/// socketioxide sends the CONNECT packet a moment before it marks the socket connected, and
/// refuses emits until then: a client that emits as soon as it sees `connect` can get here first
/// (seen under CPU pressure: `joined` was dropped). Waits for that moment, briefly.
async fn connected(socket: &SocketRef) {
    for _ in 0..200 {
        if socket.connected() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

fn emit_error(socket: &SocketRef, message: impl Into<String>, conversation: Option<ConversationId>) {
    if let Err(e) = socket.emit("error", &wire::error(message, conversation)) {
        tracing::debug!(error = %e, "could not send an error to a socket");
    }
}

/// A `message` that starts no run still ends like every turn: `error`, then `last_chunk`.
fn refuse_message(socket: &SocketRef, message: impl Into<String>, conversation: Option<ConversationId>) {
    emit_error(socket, message, conversation);
    if let Err(e) = socket.emit("last_chunk", &wire::last_chunk(conversation)) {
        tracing::debug!(error = %e, "could not send last_chunk to a socket");
    }
}

/// The conversation a socket joined last: the existing frontend's `message` carries only
/// `{content}` and relies on the room it joined.
#[derive(Debug, Clone, Copy)]
struct Joined(ConversationId);

/// The conversation an event is about: the one it names, or the one joined last. Every handler
/// starts here, so this is also where it waits for the socket to be fully connected (see
/// [`connected`]).
async fn conversation_of(socket: &SocketRef, named: Option<ConversationId>) -> Result<ConversationId, String> {
    connected(socket).await;
    named
        .or_else(|| socket.extensions.get::<Joined>().map(|j| j.0))
        .ok_or_else(|| "conversation_id is required".to_owned())
}

/// The payload, or `null` when the event came without one.
fn payload(data: Result<Value, impl std::fmt::Debug>) -> Value {
    data.unwrap_or(Value::Null)
}

/// Reads an event's payload and the conversation it is about; the `Err` is what the client is
/// told.
async fn read<T: Targeted>(socket: &SocketRef, data: &Value) -> Result<(T, ConversationId), String> {
    let payload: T = payloads::parse(data)?;
    let id = conversation_of(socket, payload.conversation_id()).await?;
    Ok((payload, id))
}

async fn join_conversation(
    admitted: Admitted,
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    TryData(data): TryData<Value>,
) {
    if !admitted.turn().await {
        return;
    }
    let (_, id) = match read::<Target>(&socket, &payload(data)).await {
        Ok(read) => read,
        Err(m) => return emit_error(&socket, m, None),
    };
    let span = tracing::info_span!("join_conversation", user_id = %user, conversation_id = %id);
    async {
        if let Err(e) = state.conversations.get(user, id).await {
            return emit_error(&socket, Failure::from(e).detail, Some(id));
        }
        socket.join(room(id));
        socket.extensions.insert(Joined(id));
        let joined = json!({"message": format!("Joined conversation {id}"), "conversation_id": id.0});
        let _ = socket.emit("joined", &joined);
        // Coming back to a conversation whose answer is still being written: replay it from
        // the start of the run, then follow live.
        match state.turns.attach(user, id, 0).await {
            Ok(Some(att)) if att.active => follow(socket.clone(), id, att),
            Ok(_) => {}
            Err(e) => emit_error(&socket, Failure::from(e).detail, Some(id)),
        }
    }
    .instrument(span)
    .await
}

async fn message(
    admitted: AdmittedMessage,
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    TryData(data): TryData<Value>,
) {
    let ask = |data| SendMessage::from_payload(data).map(Asked::Send);
    turn_event("message", admitted, socket, state, user, payload(data), ask).await
}

/// `edit {message_id, content, client_message_id?, conversation_id?}`: a new version of a human
/// message, answered like a `message`.
async fn edit(
    admitted: AdmittedMessage,
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    TryData(data): TryData<Value>,
) {
    let ask = |data| EditMessage::from_payload(data).map(EditMessage::asked);
    turn_event("edit", admitted, socket, state, user, payload(data), ask).await
}

/// `regenerate {message_id, conversation_id?}`: another answer in place of an AI message.
async fn regenerate(
    admitted: AdmittedMessage,
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    TryData(data): TryData<Value>,
) {
    let ask = |data| {
        RegenerateMessage::from_payload(data).map(|r| Asked::Regenerate {
            message: MessageId(r.message_id),
        })
    };
    turn_event("regenerate", admitted, socket, state, user, payload(data), ask).await
}

/// An event that starts a turn: its answer streams to the sender and the conversation's room;
/// a refusal is `error`, then `last_chunk`.
async fn turn_event(
    event: &'static str,
    admitted: AdmittedMessage,
    socket: SocketRef,
    state: AppState,
    user: UserId,
    data: Value,
    ask: impl FnOnce(Value) -> Result<Asked, Failure>,
) {
    if !admitted.turn().await {
        return;
    }
    let since = std::time::Instant::now();
    let (_, id) = match read::<Target>(&socket, &data).await {
        Ok(read) => read,
        Err(m) => return refuse_message(&socket, m, None),
    };
    let span = tracing::info_span!("turn_event", event, user_id = %user, conversation_id = %id);
    async {
        // Its session may have ended a moment ago, the notice still on its way.
        if !super::sessions::still_valid(&state, &socket).await {
            return super::sessions::close(socket, super::sessions::SESSION_ENDED);
        }
        let started = match ask(data) {
            Ok(asked) => turn_start::start(&state, user, id, asked, since).await,
            Err(f) => Err(f),
        };
        match started {
            Ok(started) => follow_started(&socket, &state, user, id, started).await,
            Err(f) => refuse_message(&socket, f.detail, Some(id)),
        }
    }
    .instrument(span)
    .await
}

/// `tool_decision {approval_id, decision, arguments?, always_allow?, conversation_id?}`: the
/// decision's run streams like a message's answer (refusals too: `error`, then `last_chunk`).
async fn tool_decision(
    admitted: AdmittedMessage,
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    TryData(data): TryData<Value>,
) {
    if !admitted.turn().await {
        return;
    }
    let since = std::time::Instant::now();
    let data = payload(data);
    let (target, id) = match read::<DecisionTarget>(&socket, &data).await {
        Ok(read) => read,
        Err(m) => return refuse_message(&socket, m, None),
    };
    let Some(approval) = target.approval_id else {
        return refuse_message(&socket, "approval_id is required", Some(id));
    };
    let span = tracing::info_span!("tool_decision", user_id = %user, conversation_id = %id, approval_id = approval);
    async {
        // As for `message`: a session that ended a moment ago decides nothing.
        if !super::sessions::still_valid(&state, &socket).await {
            return super::sessions::close(socket, super::sessions::SESSION_ENDED);
        }
        let started = match DecideApproval::from_payload(data) {
            Ok(body) => turn_start::decide(&state, user, id, ApprovalId(approval), body, since).await,
            Err(f) => Err(f),
        };
        match started {
            Ok(started) => follow_started(&socket, &state, user, id, started).await,
            Err(f) => refuse_message(&socket, f.detail, Some(id)),
        }
    }
    .instrument(span)
    .await
}

/// The sender follows the run it started, from then on joined to the conversation (ownership
/// was checked by the core); the other sockets of its room follow the run too.
async fn follow_started(socket: &SocketRef, state: &AppState, user: UserId, id: ConversationId, started: Started) {
    socket.join(room(id));
    let run = started.run;
    follow(
        socket.clone(),
        id,
        Attachment {
            run,
            active: true,
            events: started.events,
        },
    );
    for peer in socket
        .within(room(id))
        .sockets()
        .into_iter()
        .filter(|p| p.id != socket.id)
    {
        match state.turns.attach(user, id, 0).await {
            Ok(Some(att)) if att.run == run => follow(peer, id, att),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not attach a socket of the room to a run"),
        }
    }
}

async fn resume(
    admitted: Admitted,
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    TryData(data): TryData<Value>,
) {
    if !admitted.turn().await {
        return;
    }
    let (resume, id) = match read::<Resume>(&socket, &payload(data)).await {
        Ok(read) => read,
        Err(m) => return emit_error(&socket, m, None),
    };
    match state.turns.attach(user, id, resume.after_seq).await {
        Ok(Some(att)) => {
            socket.join(room(id));
            follow(socket, id, att)
        }
        Ok(None) => emit_error(&socket, "No recent reply to resume in this conversation", Some(id)),
        Err(e) => emit_error(&socket, Failure::from(e).detail, Some(id)),
    }
}

async fn stop(
    admitted: Admitted,
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    TryData(data): TryData<Value>,
) {
    if !admitted.turn().await {
        return;
    }
    let (_, id) = match read::<Target>(&socket, &payload(data)).await {
        Ok(read) => read,
        Err(m) => return emit_error(&socket, m, None),
    };
    match state.turns.stop(user, id).await {
        // The run itself reports the end (`last_chunk` with `stopped: true`) to its followers.
        Ok(true) => tracing::info!(conversation_id = %id, "stop requested"),
        Ok(false) => emit_error(&socket, "No reply is being generated in this conversation", Some(id)),
        Err(e) => emit_error(&socket, Failure::from(e).detail, Some(id)),
    }
}

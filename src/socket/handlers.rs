//! The `/conversations/stream` namespace: `join_conversation`, `message`, `resume`, `stop`.
//!
//! Runs are not tied to sockets: `message` starts a run in the core, and every socket of the
//! conversation's room *follows* it (see [`super::follow`]), each with its own subscription to
//! the run, so a second tab sees the answer and a socket that comes back catches up.

use super::auth::SocketUser;
use super::follow::{follow, room};
use super::wire;
use crate::state::AppState;
use meai_core::turn::TurnRequest;
use meai_core::{ClientMessageId, ConversationId, CoreError};
use serde_json::{Value, json};
use socketioxide::extract::{Data, Extension, SocketRef, State};
use tracing::Instrument;

/// Registers the event handlers. A connect *middleware*, not the connect handler: socketioxide
/// spawns the handler after telling the client it is connected, so a client that emits at once
/// (`join_conversation` on `connect`) could beat a handler registered there.
pub async fn register(socket: SocketRef) -> Result<(), std::convert::Infallible> {
    socket.on("join_conversation", join_conversation);
    socket.on("message", message);
    socket.on("resume", resume);
    socket.on("stop", stop);
    crate::metrics::metrics().active_sockets.inc();
    socket.on_disconnect(async || crate::metrics::metrics().active_sockets.dec());
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

/// What the edge tells a person when a use case fails; internals stay in the logs.
fn describe(e: CoreError) -> String {
    match e {
        CoreError::NotFound(what) => format!("{what} not found"),
        CoreError::Invalid(m) | CoreError::Conflict(m) => m,
        CoreError::Unauthenticated => "Not authenticated".into(),
        CoreError::Storage(err) => {
            tracing::error!(error = %err, "storage failure");
            "Storage is unavailable, try again".into()
        }
        CoreError::Internal(m) => {
            tracing::error!(error = %m, "internal failure");
            "Internal server error".into()
        }
    }
}

/// The conversation a socket joined last: the existing frontend's `message` carries only
/// `{content}` and relies on the room it joined.
#[derive(Debug, Clone, Copy)]
struct Joined(ConversationId);

/// The conversation an event is about. Every handler starts here, so this is also where it waits
/// for the socket to be fully connected (see [`connected`]).
async fn conversation_of(socket: &SocketRef, data: &Value) -> Option<ConversationId> {
    connected(socket).await;
    let id = data
        .get("conversation_id")
        .and_then(wire::conversation_id)
        .or_else(|| socket.extensions.get::<Joined>().map(|j| j.0));
    if id.is_none() {
        emit_error(socket, "conversation_id is required", None);
    }
    id
}

async fn join_conversation(
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    Data(data): Data<Value>,
) {
    let Some(id) = conversation_of(&socket, &data).await else {
        return;
    };
    let span = tracing::info_span!("join_conversation", user_id = %user, conversation_id = %id);
    async {
        if let Err(e) = state.conversations.get(user, id).await {
            return emit_error(&socket, describe(e), Some(id));
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
            Err(e) => emit_error(&socket, describe(e), Some(id)),
        }
    }
    .instrument(span)
    .await
}

async fn message(
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    Data(data): Data<Value>,
) {
    let Some(id) = conversation_of(&socket, &data).await else {
        return;
    };
    let content = data
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let client_message_id = data
        .get("client_message_id")
        .and_then(Value::as_str)
        .and_then(ClientMessageId::parse);
    let span = tracing::info_span!("message", user_id = %user, conversation_id = %id);
    async {
        // Limits (rate, concurrent answers) before anything is stored; the permit is held for
        // the whole turn.
        let permit = match state.ops.limits.admit_message(user) {
            Ok(p) => p,
            Err(refused) => return emit_error(&socket, refused.to_string(), Some(id)),
        };
        let started = match state
            .turns
            .start(
                user,
                id,
                TurnRequest {
                    content,
                    client_message_id,
                },
            )
            .await
        {
            Ok(s) => s,
            Err(e) => return emit_error(&socket, describe(e), Some(id)),
        };
        tokio::spawn(
            permit.guard(
                started
                    .work
                    .instrument(tracing::info_span!("turn", conversation_id = %id, run = %started.run)),
            ),
        );
        // The sender follows this conversation from now on, joined or not (ownership was
        // checked by the core).
        socket.join(room(id));
        for peer in socket.within(room(id)).sockets() {
            match state.turns.attach(user, id, 0).await {
                Ok(Some(att)) => follow(peer, id, att),
                Ok(None) => {}
                Err(e) => emit_error(&socket, describe(e), Some(id)),
            }
        }
    }
    .instrument(span)
    .await
}

async fn resume(
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    Data(data): Data<Value>,
) {
    let Some(id) = conversation_of(&socket, &data).await else {
        return;
    };
    let after = data.get("after_seq").and_then(Value::as_u64).unwrap_or(0);
    match state.turns.attach(user, id, after).await {
        Ok(Some(att)) => {
            socket.join(room(id));
            follow(socket, id, att)
        }
        Ok(None) => emit_error(&socket, "No recent reply to resume in this conversation", Some(id)),
        Err(e) => emit_error(&socket, describe(e), Some(id)),
    }
}

async fn stop(
    socket: SocketRef,
    State(state): State<AppState>,
    Extension(SocketUser(user)): Extension<SocketUser>,
    Data(data): Data<Value>,
) {
    let Some(id) = conversation_of(&socket, &data).await else {
        return;
    };
    match state.turns.stop(user, id).await {
        // The run itself reports the end (`last_chunk` with `stopped: true`) to its followers.
        Ok(true) => tracing::info!(conversation_id = %id, "stop requested"),
        Ok(false) => emit_error(&socket, "No reply is being generated in this conversation", Some(id)),
        Err(e) => emit_error(&socket, describe(e), Some(id)),
    }
}

//! Socket.IO (protocol v5) at `/socket.io`, namespace `/conversations/stream`: the original
//! meAI streaming contract, served by socketioxide inside poem.
//!
//! Client events: `join_conversation {conversation_id}`, `message {content, conversation_id,
//! client_message_id?}`, `tool_decision {approval_id, decision, arguments?, always_allow?,
//! conversation_id?}`, `resume {conversation_id, after_seq}`, `stop {conversation_id}`.
//! Server events: `joined {message}`, `tool {role, content}`, `assistant {role, content}`,
//! `tool_approval {approval_id, conversation_id, toolkit, tool, arguments, summary}`,
//! `last_chunk {last_chunk: true}`, `error {error}`; run events also carry `seq` and
//! `conversation_id`.

mod auth;
mod endpoint;
mod follow;
mod handlers;
mod payloads;
mod relay;
pub(crate) mod wire;

use crate::state::AppState;
pub use endpoint::SocketIoEndpoint;
use socketioxide::SocketIo;
use socketioxide::handler::ConnectHandler;

pub const NAMESPACE: &str = "/conversations/stream";

/// The Socket.IO endpoint to mount with `nest_no_strip("/socket.io", ..)`.
pub fn endpoint(state: &AppState) -> SocketIoEndpoint {
    let (svc, io) = SocketIo::builder()
        .req_path("/socket.io")
        .with_state(state.clone())
        .build_svc();
    // Middlewares run last-added first: authenticate, then register the handlers.
    state.ops.set_sockets(io.clone());
    relay::spawn(io.clone(), state.ops.runs.clone());
    io.ns(
        NAMESPACE,
        handlers::on_connect.with(handlers::register).with(auth::authenticate),
    );
    SocketIoEndpoint(svc)
}

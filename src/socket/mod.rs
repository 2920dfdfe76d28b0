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

mod admission;
mod auth;
mod endpoint;
mod follow;
mod handlers;
mod payloads;
mod relay;
mod sessions;
pub(crate) mod wire;

use crate::state::AppState;
pub use endpoint::SocketIoEndpoint;
use socketioxide::SocketIo;
use socketioxide::handler::ConnectHandler;

pub const NAMESPACE: &str = "/conversations/stream";

/// The Socket.IO endpoint to mount with `nest_no_strip("/socket.io", ..)`.
pub fn endpoint(state: &AppState) -> SocketIoEndpoint {
    let cap = admission::EventLimits::new(&state.config).transport_cap();
    let (svc, io) = SocketIo::builder()
        .req_path("/socket.io")
        // Bounds what one client can make the server hold (defaults: 64 MiB per message).
        .max_payload(cap as u64)
        .ws_max_message_size(cap)
        .ws_max_frame_size(cap)
        // Per open socket; events are small (engineioxide's default is 4 KiB).
        .ws_read_buffer_size(1024)
        .with_state(state.clone())
        .build_svc();
    // Middlewares run last-added first: authenticate, then register the handlers.
    state.ops.set_sockets(io.clone());
    relay::spawn(io.clone(), state.ops.runs.clone());
    sessions::spawn(io.clone(), state.clone());
    io.ns(
        NAMESPACE,
        handlers::on_connect.with(handlers::register).with(auth::authenticate),
    );
    SocketIoEndpoint(svc)
}

//! Forwarding a run's events to one socket.
//!
//! Each socket follows a run through its own subscription (missed events, then live ones), so
//! every socket gets every event exactly once and in order, whenever it attached. A socket
//! follows a given run at most once.

use super::wire;
use futures::StreamExt;
use meai_core::ConversationId;
use meai_core::turn::{Attachment, RunId};
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The room of a conversation: the sockets that follow its runs.
pub fn room(conversation: ConversationId) -> String {
    format!("conversation:{conversation}")
}

/// The runs a socket is following, in its extensions.
#[derive(Clone, Default)]
struct Following(Arc<Mutex<HashSet<RunId>>>);

impl Following {
    fn of(socket: &SocketRef) -> Self {
        if let Some(f) = socket.extensions.get::<Self>() {
            return f;
        }
        let f = Self::default();
        socket.extensions.insert(f.clone());
        f
    }

    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<RunId>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Sends the attachment's events to the socket until the run ends or the socket goes away.
pub fn follow(socket: SocketRef, conversation: ConversationId, attachment: Attachment) {
    let following = Following::of(&socket);
    let run = attachment.run;
    if !following.set().insert(run) {
        return; // already following this run
    }
    tokio::spawn(async move {
        let mut events = attachment.events;
        while let Some(e) = events.next().await {
            let (name, body) = wire::payload(conversation, &e);
            if !emit(&socket, name, &body).await {
                break;
            }
        }
        following.set().remove(&run);
    });
}

/// Emits, waiting a little while the socket's buffer is full (a slow client); false once the
/// socket is gone or stays stuck.
async fn emit(socket: &SocketRef, name: &str, body: &serde_json::Value) -> bool {
    for _ in 0..200 {
        match socket.emit(name, body) {
            Ok(()) => return true,
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                tokio::time::sleep(Duration::from_millis(25)).await
            }
            Err(e) => {
                tracing::debug!(sid = %socket.id, error = %e, "stopped following a run");
                return false;
            }
        }
    }
    tracing::warn!(sid = %socket.id, "socket buffer stayed full; stopped following the run");
    false
}

//! Runs begun on other instances, forwarded to this instance's sockets.
//!
//! A socket follows a run from the moment it joins its conversation or sends the message that
//! starts it; the instance that starts a run attaches its own sockets of the conversation's
//! room. Sockets of the room on *other* instances learn of the run from the registry's
//! announcements ([`RunRegistry::started`]; only shared registries make them) and attach here.
//! Room membership is the ownership check: a socket only joins the room of its own
//! conversations.

use super::follow::{follow, room};
use crate::runs::TrackedRuns;
use futures::StreamExt;
use meai_core::turn::{Attachment, RunRegistry, RunStarted, with_end};
use socketioxide::SocketIo;
use std::time::Duration;

/// Spawns the relay for this Socket.IO server (no-op outside a tokio runtime).
pub fn spawn(io: SocketIo, runs: TrackedRuns) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(relay(io, runs));
    }
}

async fn relay(io: SocketIo, runs: TrackedRuns) {
    let mut retry = Duration::from_millis(500);
    loop {
        match runs.started().await {
            Ok(None) => return, // a process-local registry: nothing begins elsewhere
            Ok(Some(mut started)) => {
                tracing::debug!("forwarding runs begun on other instances to this instance's sockets");
                while let Some(s) = started.next().await {
                    forward(&io, &runs, s).await;
                }
                tracing::error!("run announcements ended: sockets here no longer see runs begun elsewhere live");
                return;
            }
            Err(e) => {
                // The registry's backend is down at start-up: keep trying, slowly.
                tracing::warn!(error = %e, retry_s = retry.as_secs_f64(), "cannot listen for runs begun elsewhere");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(Duration::from_secs(30));
            }
        }
    }
}

async fn forward(io: &SocketIo, runs: &TrackedRuns, s: RunStarted) {
    // The instance running it attached its own sockets already (`message`).
    if runs.local_runs().contains(&s.conversation) {
        return;
    }
    let Some(ns) = io.of(super::NAMESPACE) else { return };
    for socket in ns.within(room(s.conversation)).sockets() {
        match runs.attach(s.conversation, 0).await {
            Ok(Some(att)) if att.run == s.run => follow(
                socket,
                s.conversation,
                Attachment {
                    events: with_end(att.events),
                    ..att
                },
            ),
            Ok(_) => {} // already over and replaced by a newer run, which announces itself
            Err(e) => {
                tracing::warn!(conversation_id = %s.conversation, error = %e, "could not attach a socket to a run")
            }
        }
    }
}

//! Closing answers whose server died (a crash, `kill -9`): at start-up, before serving, and,
//! when runs are shared with other instances (Redis), every few seconds, since any instance may
//! die at any time and a survivor closes its runs. The core does the closing
//! ([`meai_core::turn::Turns::recover`]): partial answer stored once, marked; listeners get
//! `error` and `last_chunk`; the conversation is free.

use crate::state::AppState;
use std::time::Duration;

/// How often a shared registry's instances look for runs whose instance died.
const SWEEP_EVERY: Duration = Duration::from_secs(2);

pub async fn at_start_up(state: &AppState) {
    match state.turns.recover().await {
        Ok(0) => {}
        Ok(closed) => tracing::info!(closed, "stored the partial answers of runs cut by a stop of the server"),
        Err(e) => tracing::warn!(error = %e, "could not look for answers cut by a stop of the server"),
    }
}

/// The periodic sweep, for shared registries only (a process-local registry's runs die with
/// the process, and start-up closes them).
pub fn spawn_sweeps(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    state.config.redis_url.as_ref()?;
    let turns = state.turns.clone();
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(SWEEP_EVERY).await;
            if let Err(e) = turns.recover().await {
                tracing::warn!(error = %e, "could not look for runs whose instance stopped");
            }
        }
    }))
}

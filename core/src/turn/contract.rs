//! The run registry contract, written once and run against every [`RunRegistry`] adapter.

use super::{RunError, RunRegistry, TurnEvent};
use crate::{ConversationId, UserId};
use futures::StreamExt;
use std::time::Duration;

/// Whose runs the checks begin.
const OWNER: UserId = UserId(1);

fn text(s: &str) -> TurnEvent {
    TurnEvent::Assistant { content: s.into() }
}

async fn collect(events: futures::stream::BoxStream<'static, super::RunEvent>) -> Vec<(u64, TurnEvent)> {
    tokio::time::timeout(
        Duration::from_secs(5),
        events.map(|e| (e.seq, e.event)).collect::<Vec<_>>(),
    )
    .await
    .expect("the stream ends after the run finishes")
}

/// Runs every check against registries made by `new` (a fresh one per check).
pub async fn run_registry_contract<R: RunRegistry, F: Fn() -> R>(new: F) {
    one_run_at_a_time(&new()).await;
    replay_then_live(&new()).await;
    resume_after_seq(&new()).await;
    last_chunk_ends_the_run(&new()).await;
    stop_reaches_the_writer(&new()).await;
    dropped_writer_ends_the_run(&new()).await;
    finished_run_is_replayable(&new()).await;
    dead_runs_are_closed_once(&new()).await;
    attaching_as_a_run_ends_still_gets_its_end(&new()).await;
}

async fn one_run_at_a_time(runs: &impl RunRegistry) {
    let c = ConversationId(1);
    assert!(runs.active(c).await.unwrap().is_none());
    assert!(runs.attach(c, 0).await.unwrap().is_none(), "no run yet");
    let w = runs.begin(c, OWNER).await.unwrap();
    assert_eq!(runs.active(c).await.unwrap(), Some(w.run()));
    assert!(matches!(runs.begin(c, OWNER).await, Err(RunError::Active)));
    // Other conversations are independent.
    let other = runs.begin(ConversationId(2), OWNER).await.unwrap();
    assert_ne!(other.run(), w.run());
    let first = w.run();
    w.finish().await;
    assert!(runs.active(c).await.unwrap().is_none());
    let again = runs.begin(c, OWNER).await.unwrap();
    assert_ne!(again.run(), first);
}

async fn replay_then_live(runs: &impl RunRegistry) {
    let c = ConversationId(1);
    let w = runs.begin(c, OWNER).await.unwrap();
    assert_eq!(w.publish(text("a")).await.unwrap(), 1);
    assert_eq!(w.publish(text("b")).await.unwrap(), 2);
    let att = runs.attach(c, 0).await.unwrap().unwrap();
    assert!(att.active);
    assert_eq!(att.run, w.run());
    w.publish(text("c")).await.unwrap();
    w.publish(TurnEvent::LastChunk { stopped: false }).await.unwrap();
    w.finish().await;
    let got = collect(att.events).await;
    assert_eq!(
        got,
        vec![
            (1, text("a")),
            (2, text("b")),
            (3, text("c")),
            (4, TurnEvent::LastChunk { stopped: false })
        ]
    );
}

async fn resume_after_seq(runs: &impl RunRegistry) {
    let c = ConversationId(1);
    let w = runs.begin(c, OWNER).await.unwrap();
    for s in ["a", "b", "c"] {
        w.publish(text(s)).await.unwrap();
    }
    let att = runs.attach(c, 2).await.unwrap().unwrap();
    w.publish(text("d")).await.unwrap();
    w.finish().await;
    assert_eq!(collect(att.events).await, vec![(3, text("c")), (4, text("d"))]);
}

async fn stop_reaches_the_writer(runs: &impl RunRegistry) {
    let c = ConversationId(1);
    assert!(!runs.request_stop(c).await.unwrap(), "nothing to stop");
    let w = runs.begin(c, OWNER).await.unwrap();
    let stopped = w.stopped();
    assert!(runs.request_stop(c).await.unwrap());
    tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .expect("stop resolves the writer's future");
    // A future taken after the request resolves too.
    tokio::time::timeout(Duration::from_secs(5), w.stopped())
        .await
        .expect("stop is sticky");
    w.finish().await;
    assert!(!runs.request_stop(c).await.unwrap(), "a finished run cannot be stopped");
}

async fn dropped_writer_ends_the_run(runs: &impl RunRegistry) {
    let c = ConversationId(1);
    let w = runs.begin(c, OWNER).await.unwrap();
    w.publish(text("a")).await.unwrap();
    let att = runs.attach(c, 0).await.unwrap().unwrap();
    drop(w);
    // The terminal rule holds even then: the listener gets an end.
    assert_eq!(
        collect(att.events).await,
        vec![
            (1, text("a")),
            (
                2,
                TurnEvent::Error {
                    error: super::INSTANCE_LOST.into()
                }
            ),
            (3, TurnEvent::LastChunk { stopped: false })
        ]
    );
    assert!(runs.active(c).await.unwrap().is_none());
    runs.begin(c, OWNER).await.expect("the conversation is free again");
}

async fn finished_run_is_replayable(runs: &impl RunRegistry) {
    let c = ConversationId(1);
    let w = runs.begin(c, OWNER).await.unwrap();
    let id = w.run();
    w.publish(text("a")).await.unwrap();
    w.publish(TurnEvent::LastChunk { stopped: false }).await.unwrap();
    w.finish().await;
    let att = runs.attach(c, 1).await.unwrap().expect("recent runs stay attachable");
    assert!(!att.active);
    assert_eq!(att.run, id);
    assert_eq!(
        collect(att.events).await,
        vec![(2, TurnEvent::LastChunk { stopped: false })]
    );
}

async fn last_chunk_ends_the_run(runs: &impl RunRegistry) {
    let c = ConversationId(1);
    let w = runs.begin(c, OWNER).await.unwrap();
    let att = runs.attach(c, 0).await.unwrap().unwrap();
    w.publish(text("a")).await.unwrap();
    w.publish(TurnEvent::LastChunk { stopped: false }).await.unwrap();
    // Before `finish`: whoever saw `last_chunk` may start the next run right away.
    assert!(runs.active(c).await.unwrap().is_none());
    let next = runs
        .begin(c, OWNER)
        .await
        .expect("the conversation is free once last_chunk is out");
    assert_eq!(
        collect(att.events).await,
        vec![(1, text("a")), (2, TurnEvent::LastChunk { stopped: false })]
    );
    w.finish().await; // a no-op now, and it must not end the new run
    assert_eq!(runs.active(c).await.unwrap(), Some(next.run()));
    next.finish().await;
}

async fn dead_runs_are_closed_once(runs: &impl RunRegistry) {
    let c = ConversationId(1);
    let w = runs.begin(c, OWNER).await.unwrap();
    let run = w.run();
    w.publish(text("half ")).await.unwrap();
    w.publish(TurnEvent::Tool { content: "x".into() }).await.unwrap();
    w.publish(text("an answer")).await.unwrap();
    assert!(runs.is_alive(c, run).await.unwrap());
    assert!(
        !runs.is_alive(ConversationId(99), run).await.unwrap(),
        "runs are per conversation"
    );
    assert_eq!(
        runs.streamed_text(c, run).await.unwrap().as_deref(),
        Some("half an answer")
    );
    let att = runs.attach(c, 0).await.unwrap().unwrap();
    runs.close_dead(c, run).await.unwrap();
    runs.close_dead(c, run).await.unwrap();
    let lost = TurnEvent::Error {
        error: super::INSTANCE_LOST.into(),
    };
    let got = collect(att.events).await;
    assert_eq!(got[3..], [(4, lost), (5, TurnEvent::LastChunk { stopped: false })]);
    assert!(!runs.is_alive(c, run).await.unwrap());
    assert!(runs.active(c).await.unwrap().is_none(), "the conversation is free");
    let next = runs.begin(c, OWNER).await.expect("a new run begins");
    // Closing the old run again touches nothing of the new one.
    runs.close_dead(c, run).await.unwrap();
    assert_eq!(runs.active(c).await.unwrap(), Some(next.run()));
    drop(w);
    assert_eq!(
        runs.active(c).await.unwrap(),
        Some(next.run()),
        "the dead writer's drop is harmless"
    );
    next.finish().await;
}

/// A listener that attaches while the run publishes its end gets that end, whichever side of
/// the attach it falls on.
async fn attaching_as_a_run_ends_still_gets_its_end(runs: &impl RunRegistry) {
    for i in 0..50 {
        let c = ConversationId(100 + i);
        let w = runs.begin(c, OWNER).await.unwrap();
        w.publish(text("a")).await.unwrap();
        let (att, ()) = futures::join!(runs.attach(c, 0), async move {
            w.publish(TurnEvent::LastChunk { stopped: false }).await.unwrap();
            w.finish().await;
        });
        let got = collect(att.unwrap().unwrap().events).await;
        assert_eq!(
            got,
            vec![(1, text("a")), (2, TurnEvent::LastChunk { stopped: false })],
            "attempt {i}"
        );
    }
}

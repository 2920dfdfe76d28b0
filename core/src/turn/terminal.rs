//! The one terminal rule, whatever happens underneath: every view of a run ends with exactly
//! one `last_chunk`. A registry that loses the run (a backend failure) ends the stream early;
//! the view then ends with `error` and `last_chunk` of its own.

use super::{RunEvent, TurnEvent};
use futures::StreamExt;
use futures::stream::{self, BoxStream};

/// The `error` of a view whose run was lost before its end.
pub const ANSWER_LOST: &str = "The answer stopped reaching this connection; reload the conversation to see it";

/// A listener's view: ends after `last_chunk`, or with `error` and `last_chunk` if the events
/// stop before it.
pub fn with_end(events: BoxStream<'static, RunEvent>) -> BoxStream<'static, RunEvent> {
    struct S {
        events: Option<BoxStream<'static, RunEvent>>,
        last_seq: u64,
        tail: Vec<RunEvent>,
    }
    let start = S {
        events: Some(events),
        last_seq: 0,
        tail: Vec::new(),
    };
    stream::unfold(start, |mut s| async move {
        if let Some(e) = s.tail.pop() {
            return Some((e, s));
        }
        let events = s.events.as_mut()?;
        match events.next().await {
            Some(e) => {
                s.last_seq = e.seq;
                if e.event.is_last() {
                    s.events = None;
                }
                Some((e, s))
            }
            None => {
                s.events = None;
                let seq = s.last_seq;
                s.tail = vec![RunEvent {
                    seq: seq + 2,
                    event: TurnEvent::LastChunk { stopped: false },
                }];
                Some((
                    RunEvent {
                        seq: seq + 1,
                        event: TurnEvent::Error {
                            error: ANSWER_LOST.into(),
                        },
                    },
                    s,
                ))
            }
        }
    })
    .boxed()
}

/// The sender's view: as [`with_end`], without the `human` event (it knows its question).
pub(super) fn for_sender(events: BoxStream<'static, RunEvent>) -> BoxStream<'static, RunEvent> {
    with_end(
        events
            .filter(|e| std::future::ready(!matches!(e.event, TurnEvent::Human { .. })))
            .boxed(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(seq: u64, event: TurnEvent) -> RunEvent {
        RunEvent { seq, event }
    }

    fn text(s: &str) -> TurnEvent {
        TurnEvent::Assistant { content: s.into() }
    }

    #[tokio::test]
    async fn a_run_that_ends_passes_through_and_stops_at_last_chunk() {
        let last = TurnEvent::LastChunk { stopped: true };
        let events = stream::iter(vec![e(1, text("a")), e(2, last.clone()), e(3, text("late"))]).boxed();
        let got: Vec<RunEvent> = with_end(events).collect().await;
        assert_eq!(got, vec![e(1, text("a")), e(2, last)]);
    }

    #[tokio::test]
    async fn a_lost_run_ends_with_error_then_last_chunk() {
        let events = stream::iter(vec![e(1, text("a")), e(2, text("b"))]).boxed();
        let got: Vec<RunEvent> = with_end(events).collect().await;
        assert_eq!(
            got,
            vec![
                e(1, text("a")),
                e(2, text("b")),
                e(
                    3,
                    TurnEvent::Error {
                        error: ANSWER_LOST.into()
                    }
                ),
                e(4, TurnEvent::LastChunk { stopped: false }),
            ]
        );
        let none: Vec<RunEvent> = with_end(stream::empty().boxed()).collect().await;
        assert_eq!(none.len(), 2, "even an empty view ends");
    }

    #[tokio::test]
    async fn the_sender_does_not_hear_its_own_question() {
        let human = TurnEvent::Human {
            content: "hi".into(),
            message_id: 7,
        };
        let last = TurnEvent::LastChunk { stopped: false };
        let events = stream::iter(vec![e(1, human), e(2, text("a")), e(3, last.clone())]).boxed();
        let got: Vec<RunEvent> = for_sender(events).collect().await;
        assert_eq!(got, vec![e(2, text("a")), e(3, last)]);
    }
}

use super::{ChatEvent, ChatStream, ModelError};
use futures::channel::mpsc;

/// The sending half of [`chat_channel`].
#[derive(Debug, Clone)]
pub struct ChatEventSender(mpsc::UnboundedSender<Result<ChatEvent, ModelError>>);

impl ChatEventSender {
    /// Queues the next item; `false` once the stream was dropped (the consumer cancelled).
    pub fn send(&self, item: Result<ChatEvent, ModelError>) -> bool {
        self.0.unbounded_send(item).is_ok()
    }

    /// Whether the consumer dropped the stream.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// A [`ChatStream`] fed from elsewhere (a task producing events, a scripted model). The stream
/// ends when every sender is dropped; [`ChatEventSender::is_closed`] tells the producer that the
/// consumer dropped the stream.
pub fn chat_channel() -> (ChatEventSender, ChatStream) {
    let (tx, rx) = mpsc::unbounded();
    (ChatEventSender(tx), Box::pin(rx))
}

/// A [`ChatStream`] of items known in advance.
pub fn stream_of<I>(items: I) -> ChatStream
where
    I: IntoIterator<Item = Result<ChatEvent, ModelError>>,
    I::IntoIter: Send + 'static,
{
    Box::pin(futures::stream::iter(items))
}

//! The in-process [`SessionNotices`]: one broadcast channel, for a single instance (and tests).

use futures::StreamExt;
use futures::stream::{self, BoxStream};
use meai_core::session::{NoticeError, SessionEnded, SessionNotice, SessionNotices};
use tokio::sync::broadcast;

/// Notices published here reach this process's subscribers only. Clones share the channel.
#[derive(Clone)]
pub struct LocalNotices {
    tx: broadcast::Sender<SessionEnded>,
}

impl Default for LocalNotices {
    fn default() -> Self {
        // Notices are rare; a subscriber this far behind is told it missed some.
        Self {
            tx: broadcast::channel(256).0,
        }
    }
}

/// A broadcast receiver as notices: a lag becomes [`SessionNotice::Missed`].
pub(crate) fn notices<T: Clone + Send + 'static>(
    rx: broadcast::Receiver<T>,
    read: impl Fn(T) -> Option<SessionNotice> + Send + 'static,
) -> BoxStream<'static, SessionNotice> {
    stream::unfold((rx, read), |(mut rx, read)| async move {
        loop {
            match rx.recv().await {
                Ok(msg) => match read(msg) {
                    Some(notice) => return Some((notice, (rx, read))),
                    None => tracing::warn!("ignored a malformed session notice"),
                },
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "session notices lagged");
                    return Some((SessionNotice::Missed, (rx, read)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .boxed()
}

#[async_trait::async_trait]
impl SessionNotices for LocalNotices {
    async fn publish(&self, ended: SessionEnded) -> Result<(), NoticeError> {
        // No subscriber is fine: nothing to close.
        let _ = self.tx.send(ended);
        Ok(())
    }

    async fn subscribe(&self) -> Result<BoxStream<'static, SessionNotice>, NoticeError> {
        Ok(notices(self.tx.subscribe(), |e| Some(SessionNotice::Ended(e))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_notices_keep_the_contract() {
        let shared = LocalNotices::default();
        meai_core::contract::notices::session_notices_contract(|| shared.clone()).await;
    }
}

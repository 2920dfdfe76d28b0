//! One connection: HTTP/1.1 or HTTP/2 (hyper), closed when it sits idle or sends its headers
//! too slowly.
//!
//! What the connection is doing is tracked from the outside of hyper: bytes read (the socket
//! wrapper [`Tracked`]), requests handed to the application and their responses finishing
//! (the body wrapper [`Finishing`]). From that, the [`watch`]dog knows the deadline:
//! - nothing sent yet on a new connection, or a request head begun: the header timeout;
//! - between requests (keep-alive): the idle timeout;
//! - while a request is being answered (an SSE stream may be quiet for long): none.
//!
//! A connection past its deadline is dropped, which closes it. An upgraded connection
//! (WebSocket) leaves hyper, and the watchdog with it: engine.io's heartbeat takes over.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::Instant;

/// The timeouts of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub header: Duration,
    pub idle: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Accepted, nothing read yet.
    Fresh,
    /// Between requests.
    Idle,
    /// Bytes of a request arrived; its head is not complete.
    Head,
    /// Requests being answered.
    Busy(usize),
}

/// What the connection is doing, shared by its socket, its requests and its watchdog.
pub struct Activity {
    state: Mutex<(Phase, Instant)>,
    settled: Notify,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new((Phase::Fresh, Instant::now())),
            settled: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, (Phase, Instant)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_some(&self) {
        let mut s = self.state();
        if matches!(s.0, Phase::Fresh | Phase::Idle) {
            *s = (Phase::Head, Instant::now());
        }
    }

    /// A request reached the application; the guard marks its response finished when dropped.
    pub fn request(self: &Arc<Self>) -> InFlight {
        let mut s = self.state();
        s.0 = match s.0 {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        };
        InFlight(self.clone())
    }

    fn finished(&self) {
        let mut s = self.state();
        *s = match s.0 {
            Phase::Busy(n) if n > 1 => (Phase::Busy(n - 1), s.1),
            _ => (Phase::Idle, Instant::now()),
        };
        drop(s);
        self.settled.notify_waiters();
    }
}

/// One request being answered.
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.finished();
    }
}

/// Resolves when the connection passed its deadline (never while a request is answered).
pub async fn watch(activity: &Activity, deadlines: Deadlines) {
    loop {
        let settled = activity.settled.notified();
        let (phase, since) = *activity.state();
        let deadline = match phase {
            Phase::Fresh | Phase::Head => since + deadlines.header,
            Phase::Idle => since + deadlines.idle,
            Phase::Busy(_) => {
                settled.await;
                continue;
            }
        };
        if Instant::now() >= deadline {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = settled => {}
        }
    }
}

pin_project_lite::pin_project! {
    /// The accepted socket, reporting reads to its [`Activity`] and holding its place under
    /// `MAX_CONNECTIONS` for as long as it is open (upgraded or not).
    pub struct Tracked<S> {
        #[pin]
        io: S,
        activity: Arc<Activity>,
        _permit: OwnedSemaphorePermit,
    }
}

impl<S> Tracked<S> {
    pub fn new(io: S, activity: Arc<Activity>, permit: OwnedSemaphorePermit) -> Self {
        Self {
            io,
            activity,
            _permit: permit,
        }
    }
}

impl<S: AsyncRead> AsyncRead for Tracked<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let polled = this.io.poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read_some();
        }
        polled
    }
}

impl<S: AsyncWrite> AsyncWrite for Tracked<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }
}

pin_project_lite::pin_project! {
    /// A response body that marks its request finished when hyper is done with it.
    pub struct Finishing<B> {
        #[pin]
        body: B,
        _in_flight: InFlight,
    }
}

impl<B> Finishing<B> {
    pub fn new(body: B, in_flight: InFlight) -> Self {
        Self {
            body,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body<Data = Bytes>> Body for Finishing<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINES: Deadlines = Deadlines {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    async fn expires_after(activity: &Activity) -> Duration {
        let start = Instant::now();
        watch(activity, DEADLINES).await;
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_gets_the_header_timeout_an_idle_one_the_idle_timeout() {
        let activity = Activity::new();
        assert_eq!(expires_after(&activity).await, DEADLINES.header);
        let request = activity.request();
        drop(request);
        assert_eq!(expires_after(&activity).await, DEADLINES.idle);
        activity.read_some();
        assert_eq!(expires_after(&activity).await, DEADLINES.header, "a request head begun");
    }

    #[tokio::test(start_paused = true)]
    async fn no_deadline_while_a_request_is_answered() {
        let activity = Activity::new();
        let request = activity.request();
        let watching = {
            let activity = activity.clone();
            tokio::spawn(async move { expires_after(&activity).await })
        };
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!watching.is_finished(), "an hour-long answer is not cut");
        drop(request);
        assert_eq!(watching.await.unwrap(), Duration::from_secs(3600) + DEADLINES.idle);
    }
}

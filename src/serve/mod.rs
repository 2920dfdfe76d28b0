//! Serving the application on a TCP listener with bounds on what clients can hold (poem's own
//! server has none of them):
//! - at most `MAX_CONNECTIONS` connections (HTTP and WebSocket) at once; more wait in the
//!   listen backlog until one closes;
//! - a client must send a request's headers within `HTTP_HEADER_TIMEOUT_SECONDS` of its first
//!   byte (a new connection, anything at all), and an idle keep-alive connection is closed after
//!   `HTTP_KEEP_ALIVE_SECONDS` (see [`connection`]);
//! - hyper buffers at most [`Limits::buffered_head`] bytes of a request head (beyond that it
//!   answers 431 itself, without a body; below it the edge answers `{"detail"}` with 431/414,
//!   `http::middleware::HeadLimits`).
//!
//! Graceful shutdown as poem's: stop accepting, let connections finish their requests, and give
//! up on them after the grace period.

mod connection;

use crate::config::Config;
use connection::{Activity, Deadlines, Finishing, Tracked};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::endpoint::{DynEndpoint, ToDynEndpoint};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, EndpointExt, Response};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// What one client may hold, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    deadlines: Deadlines,
    max_connections: u32,
    max_head_bytes: usize,
}

impl Limits {
    pub fn new(config: &Config) -> Self {
        Self {
            deadlines: Deadlines {
                header: Duration::from_secs(config.http_header_timeout_seconds),
                idle: Duration::from_secs(config.http_keep_alive_seconds),
            },
            max_connections: u32::try_from(config.max_connections).unwrap_or(u32::MAX),
            max_head_bytes: config.max_header_bytes,
        }
    }

    /// hyper's buffer for a request head: twice the head limit (hyper's minimum is 8 KiB), so
    /// heads a little over the limit still reach the edge and get a JSON answer.
    fn buffered_head(&self) -> usize {
        self.max_head_bytes.saturating_mul(2).max(16 * 1024)
    }
}

type App = Arc<dyn DynEndpoint<Output = Response>>;
type BoxBody = http_body_util::combinators::BoxBody<bytes::Bytes, std::io::Error>;

/// Serves `app` on `listener` until `signal` resolves, then shuts down gracefully: no new
/// connections, the open ones finish their requests, and after `grace` whatever is left is
/// dropped. Returns once every connection closed (or was given up on).
pub async fn serve(
    listener: TcpListener,
    app: impl Endpoint + 'static,
    limits: Limits,
    signal: impl Future<Output = ()> + Send,
    grace: Duration,
) -> std::io::Result<()> {
    let app: App = Arc::new(ToDynEndpoint(app.map_to_response()));
    let local = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop, stopping) = watch::channel(false);
    let (give_up, giving_up) = watch::channel(false);
    tokio::pin!(signal);
    loop {
        let permit = tokio::select! {
            () = &mut signal => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed
            },
        };
        let (stream, remote) = tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: a pause instead of a busy loop.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            app: app.clone(),
            local,
            remote,
            limits,
            stopping: stopping.clone(),
            giving_up: giving_up.clone(),
        };
        tokio::spawn(conn.serve(stream, permit));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every slot back: every connection, upgraded ones included, closed.
    let all = slots.acquire_many(limits.max_connections);
    if tokio::time::timeout(grace, all).await.is_err() {
        tracing::warn!(
            open = limits.max_connections as usize - slots.available_permits(),
            "connections still open after the grace period: closing them"
        );
        let _ = give_up.send(true);
        // Upgraded connections are not ours to drop: the socket server closes them.
        let _ = tokio::time::timeout(Duration::from_secs(1), slots.acquire_many(limits.max_connections)).await;
    }
    Ok(())
}

/// One accepted connection and what it needs.
struct Connection {
    app: App,
    local: SocketAddr,
    remote: SocketAddr,
    limits: Limits,
    stopping: watch::Receiver<bool>,
    giving_up: watch::Receiver<bool>,
}

impl Connection {
    async fn serve(mut self, stream: TcpStream, permit: tokio::sync::OwnedSemaphorePermit) {
        let activity = Activity::new();
        let io = TokioIo::new(Tracked::new(stream, activity.clone(), permit));
        let (app, local, remote, requests) = (self.app.clone(), self.local, self.remote, activity.clone());
        let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let (app, in_flight) = (app.clone(), requests.request());
            async move {
                let req = poem::Request::from((
                    req,
                    LocalAddr(local.into()),
                    RemoteAddr(remote.into()),
                    http::uri::Scheme::HTTP,
                ));
                let resp: http::Response<BoxBody> = app.get_response(req).await.into();
                Ok::<_, Infallible>(resp.map(|body| Finishing::new(body, in_flight)))
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .header_read_timeout(None) // ours, from the first byte (see `connection`)
            .max_buf_size(self.limits.buffered_head());
        builder
            .http2()
            .max_header_list_size(u32::try_from(self.limits.buffered_head()).unwrap_or(u32::MAX));
        let conn = builder.serve_connection_with_upgrades(io, service);
        tokio::pin!(conn);
        tokio::select! {
            _ = &mut conn => return,
            () = connection::watch(&activity, self.limits.deadlines) => {
                tracing::debug!(remote = %self.remote, "closed an idle or too slow connection");
                crate::metrics::metrics().rate_limited.with_label_values(&["connection_timeout"]).inc();
                return;
            }
            _ = self.stopping.wait_for(|s| *s) => {}
        }
        conn.as_mut().graceful_shutdown();
        tokio::select! {
            _ = &mut conn => {}
            _ = self.giving_up.wait_for(|g| *g) => {}
        }
    }
}

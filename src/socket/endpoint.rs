//! Serving socketioxide from poem.
//!
//! Plain `SocketIoService.compat()` serves polling but breaks WebSocket: poem moves hyper's
//! `OnUpgrade` out of the request extensions, so engineioxide finds no upgrade and a
//! `transports: ['websocket']` client (the meAI frontend) never connects. So polling goes
//! through the tower bridge, and WebSocket upgrades are completed here and handed to
//! socketioxide as an already-upgraded connection. (Recipe: reference/socketio-on-poem.md.)

use engineioxide::service::NotFoundService;
use poem::endpoint::TowerCompatExt;
use poem::http::{StatusCode, header};
use poem::web::headers::{HeaderMapExt, SecWebsocketAccept, SecWebsocketKey};
use poem::{Endpoint, IntoResponse, Request, Response, Result};
use socketioxide::service::SocketIoService;
use tower_service::Service;

#[derive(Clone)]
pub struct SocketIoEndpoint(pub SocketIoService<NotFoundService>);

fn is_websocket_upgrade(req: &Request) -> bool {
    let has = |name, token: &str| {
        req.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket")
}

/// The headers a socket keeps for its lifetime: the ones the server reads (the session
/// cookie, the client's address and origin), copied. hyper parses header values as slices of the
/// connection's read buffer (8-16 KiB), so keeping the originals would keep that whole buffer
/// alive for every open socket.
fn kept_headers(headers: &http::HeaderMap) -> http::HeaderMap {
    const KEPT: [header::HeaderName; 4] = [
        header::COOKIE,
        header::ORIGIN,
        header::USER_AGENT,
        header::AUTHORIZATION,
    ];
    let mut kept = http::HeaderMap::with_capacity(KEPT.len() + 1);
    let forwarded = header::HeaderName::from_static("x-forwarded-for");
    for name in KEPT.iter().chain(std::iter::once(&forwarded)) {
        for value in headers.get_all(name) {
            if let Ok(copy) = http::HeaderValue::from_bytes(value.as_bytes()) {
                kept.append(name.clone(), copy);
            }
        }
    }
    kept
}

impl Endpoint for SocketIoEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        if !is_websocket_upgrade(&req) {
            // A polling handshake's head is kept by its session too: copies, all of them (a
            // polling request's body may need them).
            let copied = req
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), http::HeaderValue::from_bytes(v.as_bytes()).ok()?)))
                .collect();
            *req.headers_mut() = copied;
            return self.0.clone().compat().call(req).await;
        }
        let Some(key) = req.headers().typed_get::<SecWebsocketKey>() else {
            return Ok(StatusCode::BAD_REQUEST.into_response());
        };
        let Ok(on_upgrade) = req.take_upgrade() else {
            return Ok(StatusCode::BAD_REQUEST.into_response());
        };
        // socketioxide reads the handshake from this head: the session cookie and the query
        // (`EIO`, `transport`, `sid`) must reach it unchanged. It keeps the head as long as the
        // socket lives, so the head holds copies (see [`kept_headers`]).
        let mut head = http::Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone())
            .version(req.version());
        if let Some(headers) = head.headers_mut() {
            *headers = kept_headers(req.headers());
        }
        let head = head
            .body(())
            .map_err(|e| poem::Error::new(e, StatusCode::BAD_REQUEST))?;
        let mut svc = self.0.clone();
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(io) => {
                    if let Err(e) = Service::call(&mut svc, (io, head)).await {
                        tracing::debug!(error = ?e, "socket.io websocket ended with an error");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "websocket upgrade failed"),
            }
        });
        Ok(Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .typed_header(SecWebsocketAccept::from(key))
            .finish())
    }
}

#[cfg(test)]
mod tests {
    use super::kept_headers;
    use poem::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn a_socket_keeps_copies_of_the_headers_it_reads_only() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("session=abc"));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://frontend.test"));
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        let kept = kept_headers(&h);
        assert_eq!(kept[header::COOKIE], "session=abc");
        assert_eq!(kept[header::ORIGIN], "http://frontend.test");
        assert_eq!(kept["x-forwarded-for"], "10.0.0.1");
        assert!(kept.get(header::ACCEPT_LANGUAGE).is_none());
    }
}

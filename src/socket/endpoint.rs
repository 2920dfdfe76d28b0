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

impl Endpoint for SocketIoEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        if !is_websocket_upgrade(&req) {
            return self.0.clone().compat().call(req).await;
        }
        let Some(key) = req.headers().typed_get::<SecWebsocketKey>() else {
            return Ok(StatusCode::BAD_REQUEST.into_response());
        };
        let Ok(on_upgrade) = req.take_upgrade() else {
            return Ok(StatusCode::BAD_REQUEST.into_response());
        };
        // socketioxide reads the handshake from this head: the session cookie and the query
        // (`EIO`, `transport`, `sid`) must reach it unchanged.
        let mut head = http::Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone())
            .version(req.version());
        if let Some(headers) = head.headers_mut() {
            headers.extend(req.headers().iter().map(|(k, v)| (k.clone(), v.clone())));
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

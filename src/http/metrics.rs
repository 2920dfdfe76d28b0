//! `GET /metrics`: the Prometheus text exposition. Not part of the OpenAPI spec (it is for the
//! scraper, not API clients). With `METRICS_TOKEN` set, the scraper must send
//! `Authorization: Bearer <token>`; without it the endpoint is open, so publish it only on a
//! private network.

use crate::state::AppState;
use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::{IntoResponse, Request, Response, handler};

/// Compares in constant time so the token cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(req: &Request, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return true;
    };
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes()))
}

#[handler]
pub fn metrics_endpoint(req: &Request, state: Data<&AppState>) -> Response {
    let token = state.config.metrics_token.as_ref().map(|t| t.expose());
    if !authorized(req, token) {
        return poem::web::Json(serde_json::json!({"detail": "Not authenticated"}))
            .with_status(StatusCode::UNAUTHORIZED)
            .with_header(header::WWW_AUTHENTICATE, "Bearer")
            .into_response();
    }
    crate::metrics::metrics()
        .render()
        .with_content_type("text/plain; version=0.0.4; charset=utf-8")
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_compare_whole() {
        assert!(super::same(b"abc", b"abc"));
        assert!(!super::same(b"abc", b"abd"));
        assert!(!super::same(b"abc", b"ab"));
    }
}

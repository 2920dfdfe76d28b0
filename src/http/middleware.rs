//! Cross-cutting request handling: request ids with a tracing span, the request head and body
//! size limits.

use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::time::Instant;
use tracing::Instrument;

const REQUEST_ID: &str = "x-request-id";

/// Gives every request an id (the caller's `x-request-id` if sane), a span carrying it, and one
/// log line with status and latency.
pub struct Observe;

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        ObserveEndpoint(inner)
    }
}

pub struct ObserveEndpoint<E>(E);

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let span = tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.uri().path(), user_id = tracing::field::Empty);
        let started = Instant::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        async move {
            let mut resp = match self.0.call(req).await {
                Ok(r) => r.into_response(),
                Err(e) => e.into_response(),
            };
            if let Ok(v) = HeaderValue::from_str(&id) {
                resp.headers_mut().insert(REQUEST_ID, v);
            }
            let status = resp.status().as_u16();
            let elapsed = started.elapsed().as_secs_f64();
            let ms = elapsed * 1000.0;
            let pattern = resp.data::<poem::PathPattern>().map(|p| &*p.0);
            let route = crate::metrics::route_label(pattern, &path, status);
            let m = crate::metrics::metrics();
            m.http_requests
                .with_label_values(&[method.as_str(), &route, &status.to_string()])
                .inc();
            m.http_latency
                .with_label_values(&[method.as_str(), &route])
                .observe(elapsed);
            if resp.status().is_server_error() {
                m.error("http_5xx");
            }
            if resp.status().is_server_error() {
                tracing::warn!(status, ms, "request failed");
            } else {
                tracing::debug!(status, ms, "request");
            }
            Ok(resp)
        }
        .instrument(span)
        .await
    }
}

/// Refuses bodies over `max` bytes with 413, whether or not they announce their length.
/// Paths excepted read their bodies under limits of their own (the import's).
pub struct BodyLimit {
    max: usize,
    except: Vec<&'static str>,
}

impl BodyLimit {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            except: Vec::new(),
        }
    }

    pub fn except(mut self, path: &'static str) -> Self {
        self.except.push(path);
        self
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            max: self.max,
            except: self.except.clone(),
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
    except: Vec<&'static str>,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let path = req.uri().path().trim_end_matches('/');
        if self.except.contains(&path) {
            return self.inner.call(req).await;
        }
        let too_large = || poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE);
        let declared = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        match declared {
            Some(len) if len > self.max => return Err(too_large()),
            Some(_) => {}
            // Chunked bodies: read them under the limit so a handler never sees more.
            None if req.headers().contains_key(poem::http::header::TRANSFER_ENCODING) => {
                let bytes = req.take_body().into_bytes_limit(self.max).await.map_err(|e| match e {
                    poem::error::ReadBodyError::PayloadTooLarge => too_large(),
                    other => other.into(),
                })?;
                req.set_body(bytes);
            }
            None => {}
        }
        self.inner.call(req).await
    }
}

/// Refuses request heads over the configured sizes with the usual `{"detail"}`: 414 for a URI
/// over `max_uri`, 431 for a request line and headers over `max_head` (hyper refuses heads
/// twice that size itself, see `crate::serve`).
pub struct HeadLimits {
    max_uri: usize,
    max_head: usize,
}

impl HeadLimits {
    pub fn new(max_uri: usize, max_head: usize) -> Self {
        Self { max_uri, max_head }
    }
}

impl<E: Endpoint> Middleware<E> for HeadLimits {
    type Output = HeadLimitsEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        HeadLimitsEndpoint {
            inner,
            max_uri: self.max_uri,
            max_head: self.max_head,
        }
    }
}

pub struct HeadLimitsEndpoint<E> {
    inner: E,
    max_uri: usize,
    max_head: usize,
}

/// The size of the request line and headers as sent (`Name: value\r\n` each).
fn head_size(req: &Request, uri: usize) -> usize {
    let headers: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    req.method().as_str().len() + uri + headers + 12
}

fn refuse(status: StatusCode, detail: &str) -> Response {
    poem::web::Json(serde_json::json!({ "detail": detail }))
        .with_status(status)
        .into_response()
}

impl<E: Endpoint> Endpoint for HeadLimitsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let original = req.original_uri();
        let uri = original.path_and_query().map_or(0, |p| p.as_str().len())
            + original.authority().map_or(0, |a| a.as_str().len());
        if uri > self.max_uri {
            return Ok(refuse(StatusCode::URI_TOO_LONG, "Request URI too long"));
        }
        if head_size(&req, uri) > self.max_head {
            return Ok(refuse(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "Request header fields too large",
            ));
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

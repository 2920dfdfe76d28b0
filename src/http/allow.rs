//! `405 Method Not Allowed` says which methods the path has (RFC 9110 §15.5.6), read from the
//! spec's paths: poem's router refuses the method without naming the others.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::sync::Arc;

/// The spec's paths, as segments (`None` for a `{parameter}`), with their methods.
#[derive(Clone, Default)]
pub struct AllowHeader(Arc<Vec<(Vec<Option<String>>, HeaderValue)>>);

impl AllowHeader {
    pub fn from_spec(spec: &str) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) else {
            return Self::default();
        };
        let mut routes: Vec<(Vec<Option<String>>, HeaderValue)> = paths
            .iter()
            .filter_map(|(path, operations)| {
                let mut methods: Vec<String> = operations.as_object()?.keys().map(|m| m.to_ascii_uppercase()).collect();
                // poem answers HEAD for every GET, and CORS answers OPTIONS.
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".into());
                }
                methods.push("OPTIONS".into());
                methods.sort();
                let segments = segments(path)
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect();
                Some((segments, HeaderValue::from_str(&methods.join(", ")).ok()?))
            })
            .collect();
        // A literal segment wins over a parameter (`/conversations/search`).
        routes.sort_by_key(|(segments, _)| segments.iter().filter(|s| s.is_none()).count());
        Self(Arc::new(routes))
    }

    fn allowed(&self, path: &str) -> Option<&HeaderValue> {
        let wanted: Vec<&str> = segments(path).collect();
        self.0
            .iter()
            .find(|(route, _)| {
                route.len() == wanted.len()
                    && route
                        .iter()
                        .zip(&wanted)
                        .all(|(r, w)| r.as_deref().is_none_or(|r| r == *w))
            })
            .map(|(_, methods)| methods)
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

impl<E: Endpoint> Middleware<E> for AllowHeader {
    type Output = AllowEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        AllowEndpoint(inner, self.clone())
    }
}

pub struct AllowEndpoint<E>(E, AllowHeader);

impl<E: Endpoint> Endpoint for AllowEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path().to_owned();
        let mut resp = self.0.call(req).await?.into_response();
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED
            && !resp.headers().contains_key(header::ALLOW)
            && let Some(methods) = self.1.allowed(&path)
        {
            resp.headers_mut().insert(header::ALLOW, methods.clone());
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_gets_its_own_methods() {
        let allow = AllowHeader::from_spec(
            r#"{"paths": {
                "/conversations/{conversation_id}": {"patch": {}, "delete": {}},
                "/conversations/search": {"get": {}},
                "/health": {"get": {}}
            }}"#,
        );
        assert_eq!(allow.allowed("/conversations/7").unwrap(), "DELETE, OPTIONS, PATCH");
        assert_eq!(allow.allowed("/health/").unwrap(), "GET, HEAD, OPTIONS");
        assert!(allow.allowed("/nowhere").is_none());
        assert!(allow.allowed("/conversations/7/extra").is_none());
    }
}

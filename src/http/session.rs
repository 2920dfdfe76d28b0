//! Authentication of API calls: the session cookie (browsers) or `Authorization: Bearer`
//! (API clients). Both carry the same biscuit token.

use crate::state::AppState;
use meai_core::session::SessionClaims;
use poem::http::StatusCode;
use poem::{Request, RequestBody, Result};
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

pub const COOKIE_SCHEME: &str = "SessionCookie";
pub const BEARER_SCHEME: &str = "BearerToken";

/// A verified, unrevoked session. Taking it as a parameter makes an operation require sign-in.
pub struct Authenticated(pub SessionClaims);

/// The token presented with a request, if any: the bearer header wins over the cookie.
pub fn presented_token(req: &Request, cookie_name: &str) -> Option<String> {
    let bearer = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned());
    bearer.or_else(|| req.cookie().get(cookie_name).map(|c| c.value_str().to_owned()))
}

fn unauthorized() -> poem::Error {
    poem::Error::from_response(
        poem::Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("WWW-Authenticate", "Bearer")
            .content_type("application/json")
            .body(r#"{"detail":"Not authenticated"}"#),
    )
}

impl<'a> ApiExtractor<'a> for Authenticated {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            COOKIE_SCHEME,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some("The session cookie set by sign-in (its name is `COOKIE_NAME`, default `session`)."),
                name: Some("session"),
                key_in: Some("cookie"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
        registry.create_security_scheme(
            BEARER_SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some("The same session token as a bearer token (see `POST /auth/token`)."),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("biscuit"),
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![COOKIE_SCHEME, BEARER_SCHEME]
    }

    async fn from_request(req: &'a Request, _body: &mut RequestBody, _: ExtractParamOptions<()>) -> Result<Self> {
        let Some(state) = req.data::<AppState>() else {
            tracing::error!("a route without the application state");
            return Err(poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR));
        };
        let token = presented_token(req, &state.config.cookie_name).ok_or_else(unauthorized)?;
        match state.sessions.authenticate(&token).await {
            Ok(claims) => {
                tracing::Span::current().record("user_id", claims.user_id.0);
                Ok(Self(claims))
            }
            Err(meai_core::CoreError::Unauthenticated) => Err(unauthorized()),
            Err(other) => {
                tracing::error!(error = %other, "session check failed");
                Err(poem::Error::from_status(StatusCode::SERVICE_UNAVAILABLE))
            }
        }
    }
}

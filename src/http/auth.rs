//! Sign-in, the current user, bearer tokens and logout.

use super::session::Authenticated;
use super::{ApiError, ApiTags, cookie};
use crate::state::{AppState, SignIn};
use chrono::{DateTime, Utc};
use meai_core::{ReturnTo, User};
use poem::web::Data;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};

pub struct AuthApi;

/// The signed-in person.
#[derive(Debug, Object)]
#[oai(example)]
pub struct UserOut {
    user_id: i64,
    email: String,
    /// The name from the Google profile; null when it has none.
    #[oai(nullable)]
    name: Option<String>,
    /// The picture from the Google profile; null when it has none.
    #[oai(nullable)]
    avatar_url: Option<String>,
    /// `google` or `local`.
    auth_method: String,
    #[oai(nullable)]
    last_login: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl Example for UserOut {
    fn example() -> Self {
        let at = super::conversations::example_time(9, 0);
        Self {
            user_id: 1,
            email: "ada@example.com".into(),
            name: Some("Ada Lovelace".into()),
            avatar_url: Some("https://lh3.googleusercontent.com/a/example".into()),
            auth_method: "google".into(),
            last_login: Some(at),
            created_at: at,
        }
    }
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            user_id: u.id.0,
            email: u.email.to_string(),
            name: u.name,
            avatar_url: u.avatar_url,
            auth_method: u.auth_method.as_str().to_owned(),
            last_login: u.last_login,
            created_at: u.created_at,
        }
    }
}

/// What was done, for people.
#[derive(Debug, Object)]
struct Message {
    message: String,
}

/// A session token for API clients.
#[derive(Debug, Object)]
struct BearerToken {
    /// Send as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Always `bearer`.
    token_type: String,
    expires_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
enum Redirect {
    /// Continue in the browser at `Location`; a successful sign-in also sets the session cookie.
    #[oai(status = 302)]
    Found(
        #[oai(header = "Location")] String,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
}

#[derive(ApiResponse)]
enum LoggedOut {
    /// The session is revoked and the cookie cleared.
    #[oai(status = 200)]
    Ok(Json<Message>, #[oai(header = "Set-Cookie")] String),
}

/// Where to land in the frontend: a same-site path only (so sign-in cannot be turned into an
/// open redirect), fit for a `Location` header; anything else lands on `FRONTEND_URL`.
fn frontend_target(state: &AppState, return_to: Option<&str>) -> String {
    let base = state.config.frontend_url.trim_end_matches('/');
    match return_to.and_then(ReturnTo::parse) {
        Some(path) => format!("{base}{}", path.as_str()),
        None => state.config.frontend_url.clone(),
    }
}

/// The frontend, told why sign-in failed (`?auth_error=<code>`), never with provider details.
fn frontend_error(state: &AppState, code: &str) -> String {
    let base = &state.config.frontend_url;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}auth_error={code}")
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Start signing in
    ///
    /// Redirects to Google's consent screen. In local single-user mode (no Google client
    /// configured) signs in the local user at once and redirects to the frontend with the session
    /// cookie set. Open it in the browser (the frontend's login button); it is not an API call.
    #[oai(path = "/auth/google", method = "get", operation_id = "login")]
    async fn google(
        &self,
        state: Data<&AppState>,
        /// A frontend path to land on after sign-in.
        return_to: Query<Option<String>>,
    ) -> Result<Redirect, ApiError> {
        match &state.sign_in {
            SignIn::Local(profile) => {
                let (_, token, _) = state.sessions.sign_in(profile).await?;
                let target = frontend_target(&state, return_to.0.as_deref());
                Ok(Redirect::Found(target, Some(cookie::session(&state.config, &token))))
            }
            SignIn::Google(logins) => Ok(Redirect::Found(logins.start(return_to.0).await?, None)),
        }
    }

    /// Finish signing in with Google
    ///
    /// Google redirects the browser here. On success the session cookie is set and the browser
    /// continues to the frontend; on failure it continues to the frontend with `?auth_error=<code>`
    /// (`access_denied`, `invalid_state`, `rejected`, `unverified_email`, `provider_unavailable`,
    /// `internal`). 400 without `code` and `state`; 404 in local mode (no Google client
    /// configured).
    #[oai(path = "/auth/google/callback", method = "get", operation_id = "googleCallback")]
    async fn google_callback(
        &self,
        state: Data<&AppState>,
        /// The authorization code from Google.
        code: Query<Option<String>>,
        /// The `state` this server sent to Google with the sign-in.
        #[oai(name = "state")]
        login_state: Query<Option<String>>,
        /// Set by Google instead of `code` when sign-in was not granted (e.g. `access_denied`).
        error: Query<Option<String>>,
    ) -> Result<Redirect, ApiError> {
        let SignIn::Google(logins) = &state.sign_in else {
            return Err(ApiError::not_found("Google sign-in is not configured on this server"));
        };
        let failed = |code: &str| Redirect::Found(frontend_error(&state, code), None);
        if let Some(error) = error.0 {
            // The person declined consent, or Google refused the request.
            tracing::info!(%error, "Google sign-in was not granted");
            let code = if error == "access_denied" {
                "access_denied"
            } else {
                "provider_error"
            };
            return Ok(failed(code));
        }
        let (Some(code), Some(login_state)) = (code.0, login_state.0) else {
            return Err(ApiError::bad_request("code and state are required"));
        };
        match logins.finish(&code, &login_state).await {
            Ok((_, token, _, return_to)) => {
                let target = frontend_target(&state, return_to.as_deref());
                Ok(Redirect::Found(target, Some(cookie::session(&state.config, &token))))
            }
            Err(e) => {
                tracing::warn!(error = %e, code = e.code(), "Google sign-in failed");
                Ok(failed(e.code()))
            }
        }
    }

    /// The signed-in user
    ///
    /// The person the session cookie (or bearer token) belongs to. 401 without a valid session:
    /// the frontend shows its login page then.
    #[oai(path = "/auth/me", method = "get", operation_id = "getMe")]
    async fn me(&self, state: Data<&AppState>, session: Authenticated) -> Result<Json<UserOut>, ApiError> {
        Ok(Json(state.sessions.current_user(&session.0).await?.into()))
    }

    /// A bearer token for API clients
    ///
    /// Returns a new token for the signed-in user, valid until the current session expires and
    /// revocable on its own (`POST /auth/logout` with it as bearer).
    #[oai(path = "/auth/token", method = "post", operation_id = "createToken")]
    async fn token(&self, state: Data<&AppState>, session: Authenticated) -> Result<Json<BearerToken>, ApiError> {
        let (token, claims) = state.sessions.mint_for(&session.0)?;
        Ok(Json(BearerToken {
            access_token: token.expose().to_owned(),
            token_type: "bearer".into(),
            expires_at: claims.expires_at,
        }))
    }

    /// Sign out
    ///
    /// Revokes the presented session token on every instance, closes the sockets using it, and
    /// clears the cookie. 401 without a valid session.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, state: Data<&AppState>, session: Authenticated) -> Result<LoggedOut, ApiError> {
        state.sessions.logout(&session.0).await?;
        Ok(LoggedOut::Ok(
            Json(Message {
                message: "Logged out successfully".into(),
            }),
            cookie::cleared(&state.config),
        ))
    }
}

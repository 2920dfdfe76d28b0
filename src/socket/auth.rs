//! Who is on the other end of a socket: the session cookie of the handshake request, or a
//! bearer token in the handshake `auth` payload (`{token}`) for clients without cookies.

use crate::state::AppState;
use meai_core::{CoreError, UserId};
use serde::Deserialize;
use socketioxide::extract::{SocketRef, State, TryData};

/// The signed-in user of a socket, stored in its extensions by [`authenticate`].
#[derive(Debug, Clone, Copy)]
pub struct SocketUser(pub UserId);

#[derive(Debug, Default, Deserialize)]
pub struct HandshakeAuth {
    token: Option<String>,
}

/// Why a connection is refused; the client receives the text in `connect_error`.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("Not authenticated")]
    Unauthenticated,
    #[error("Authentication is unavailable, try again")]
    Unavailable,
}

/// The session cookie of the handshake, decoded exactly as the HTTP edge decodes it (poem's
/// cookie jar: the value is percent-encoded in `Set-Cookie`, and browsers send it back as is).
fn cookie_value(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.parse::<poem::web::cookie::CookieJar>().ok())
        .find_map(|jar| jar.get(name))
        .map(|c| c.value_str().to_owned())
}

/// Connect middleware: refuses the namespace connection unless a valid session is presented.
pub async fn authenticate(
    socket: SocketRef,
    State(state): State<AppState>,
    TryData(auth): TryData<HandshakeAuth>,
) -> Result<(), Refusal> {
    let bearer = auth.ok().and_then(|a| a.token).filter(|t| !t.is_empty());
    let token = bearer.or_else(|| cookie_value(&socket.req_parts().headers, &state.config.cookie_name));
    let token = token.ok_or(Refusal::Unauthenticated)?;
    match state.sessions.authenticate(&token).await {
        Ok(claims) => {
            socket.extensions.insert(SocketUser(claims.user_id));
            super::sessions::enter(&socket, claims);
            Ok(())
        }
        Err(CoreError::Unauthenticated) => Err(Refusal::Unauthenticated),
        Err(e) => {
            tracing::error!(error = %e, "socket session check failed");
            Err(Refusal::Unavailable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cookie_value;

    #[test]
    fn finds_the_named_cookie_among_others() {
        let mut h = http::HeaderMap::new();
        h.append(http::header::COOKIE, "a=1; session=tok.en%3D; b=2".parse().unwrap());
        assert_eq!(
            cookie_value(&h, "session").as_deref(),
            Some("tok.en="),
            "percent-decoded like poem does"
        );
        assert_eq!(cookie_value(&h, "missing"), None);
    }
}

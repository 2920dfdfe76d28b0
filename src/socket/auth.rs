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

fn cookie_value<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// Connect middleware: refuses the namespace connection unless a valid session is presented.
pub async fn authenticate(
    socket: SocketRef,
    State(state): State<AppState>,
    TryData(auth): TryData<HandshakeAuth>,
) -> Result<(), Refusal> {
    let bearer = auth.ok().and_then(|a| a.token).filter(|t| !t.is_empty());
    let token =
        bearer.or_else(|| cookie_value(&socket.req_parts().headers, &state.config.cookie_name).map(str::to_owned));
    let token = token.ok_or(Refusal::Unauthenticated)?;
    match state.sessions.authenticate(&token).await {
        Ok(claims) => {
            socket.extensions.insert(SocketUser(claims.user_id));
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
        h.append(http::header::COOKIE, "a=1; session=tok.en; b=2".parse().unwrap());
        assert_eq!(cookie_value(&h, "session"), Some("tok.en"));
        assert_eq!(cookie_value(&h, "missing"), None);
    }
}

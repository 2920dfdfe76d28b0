//! The authorization-code flow against Google, with PKCE (S256), `state` and `nonce`.

use crate::config::{GoogleConfig, GoogleConfigError};
use crate::userinfo;
use chrono::{DateTime, Duration, Utc};
use meai_core::identity::{AuthorizationRequest, Identity, IdentityError};
use meai_core::{NewUser, PendingLogin};
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, HttpClientError,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};

/// How long a started login may take before its callback is refused.
const LOGIN_LIFETIME: Duration = Duration::minutes(10);
const SCOPES: [&str; 3] = ["openid", "email", "profile"];
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// A client with its authorization and token endpoints set.
type OAuthClient = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Signs people in with their Google account.
pub struct GoogleIdentity {
    oauth: OAuthClient,
    http: reqwest::Client,
    userinfo_url: reqwest::Url,
    client_id: String,
}

impl GoogleIdentity {
    pub fn new(config: &GoogleConfig) -> Result<Self, GoogleConfigError> {
        if config.client_id.trim().is_empty() {
            return Err(GoogleConfigError::MissingClientId);
        }
        if config.client_secret.is_empty() {
            return Err(GoogleConfigError::MissingClientSecret);
        }
        let invalid = |name: &'static str, value: &str| GoogleConfigError::InvalidUrl {
            name,
            value: value.to_owned(),
        };
        let oauth = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.clone()))
            .set_auth_uri(AuthUrl::new(config.auth_url.clone()).map_err(|_| invalid("auth_url", &config.auth_url))?)
            .set_token_uri(
                TokenUrl::new(config.token_url.clone()).map_err(|_| invalid("token_url", &config.token_url))?,
            )
            .set_redirect_uri(
                RedirectUrl::new(config.redirect_uri.clone())
                    .map_err(|_| invalid("redirect_uri", &config.redirect_uri))?,
            );
        let userinfo_url =
            reqwest::Url::parse(&config.userinfo_url).map_err(|_| invalid("userinfo_url", &config.userinfo_url))?;
        let http = reqwest::Client::builder()
            // oauth2's advice: following redirects from the token endpoint opens the door to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(GoogleConfigError::HttpClient)?;
        Ok(Self {
            oauth,
            http,
            userinfo_url,
            client_id: config.client_id.clone(),
        })
    }
}

impl std::fmt::Debug for GoogleIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleIdentity")
            .field("client_id", &self.client_id)
            .field("userinfo_url", &self.userinfo_url.as_str())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Identity for GoogleIdentity {
    fn authorize(&self, return_to: Option<String>, now: DateTime<Utc>) -> AuthorizationRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        // Google echoes the nonce into the id_token; sent so the request is a proper OIDC one.
        let nonce = CsrfToken::new_random();
        let (url, state) = self
            .oauth
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.map(|s| Scope::new(s.to_owned())))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", nonce.secret().as_str())
            .url();
        AuthorizationRequest {
            url: url.into(),
            login: PendingLogin {
                state: state.into_secret(),
                pkce_verifier: verifier.into_secret(),
                nonce: nonce.into_secret(),
                return_to,
                expires_at: now + LOGIN_LIFETIME,
            },
        }
    }

    #[tracing::instrument(skip_all)]
    async fn exchange(&self, code: &str, login: &PendingLogin) -> Result<NewUser, IdentityError> {
        let token = self
            .oauth
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        if *token.token_type() != BasicTokenType::Bearer {
            return Err(IdentityError::Unavailable(format!(
                "unexpected token type {:?}",
                token.token_type().as_ref()
            )));
        }
        userinfo::fetch(&self.http, &self.userinfo_url, token.access_token().secret()).await
    }
}

type TokenRequestError = RequestTokenError<HttpClientError<reqwest::Error>, BasicErrorResponse>;

/// An OAuth error answer means the code (or our client) was refused; anything else means Google
/// could not be used right now. Response bodies are never quoted: they may hold tokens.
fn token_error(e: TokenRequestError) -> IdentityError {
    match e {
        RequestTokenError::ServerResponse(r) => match r.error() {
            BasicErrorResponseType::Extension(code)
                if matches!(code.as_str(), "server_error" | "temporarily_unavailable") =>
            {
                IdentityError::Unavailable(format!("token endpoint: {code}"))
            }
            code => {
                // invalid_client is our misconfiguration, not the user's doing: say so loudly.
                if *code == BasicErrorResponseType::InvalidClient {
                    tracing::error!("token endpoint refused our client credentials (invalid_client)");
                }
                IdentityError::Rejected(code.to_string())
            }
        },
        RequestTokenError::Request(e) => IdentityError::Unavailable(format!("token endpoint unreachable: {e}")),
        RequestTokenError::Parse(e, _) => {
            IdentityError::Unavailable(format!("malformed token endpoint response (at `{}`)", e.path()))
        }
        RequestTokenError::Other(m) => IdentityError::Unavailable(format!("token endpoint: {m}")),
    }
}

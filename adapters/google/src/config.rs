//! Where Google's endpoints are, and who we are to Google.

/// The client registration and endpoints. Defaults are Google's production endpoints; tests
/// point them at a fake provider.
#[derive(Clone)]
pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Must match a redirect URI registered for the client, byte for byte.
    pub redirect_uri: String,
    pub auth_url: String,
    pub token_url: String,
    pub userinfo_url: String,
}

impl GoogleConfig {
    pub const AUTH_URL: &'static str = "https://accounts.google.com/o/oauth2/v2/auth";
    pub const TOKEN_URL: &'static str = "https://oauth2.googleapis.com/token";
    /// The OpenID Connect userinfo endpoint (answers `email_verified`, unlike the older v2 one).
    pub const USERINFO_URL: &'static str = "https://openidconnect.googleapis.com/v1/userinfo";

    /// A client of Google's production endpoints.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uri: redirect_uri.into(),
            auth_url: Self::AUTH_URL.to_owned(),
            token_url: Self::TOKEN_URL.to_owned(),
            userinfo_url: Self::USERINFO_URL.to_owned(),
        }
    }
}

impl std::fmt::Debug for GoogleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uri", &self.redirect_uri)
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("userinfo_url", &self.userinfo_url)
            .finish()
    }
}

/// A configuration that cannot work; reported at start-up rather than at the first login.
#[derive(Debug, thiserror::Error)]
pub enum GoogleConfigError {
    #[error("GOOGLE_CLIENT_ID is empty")]
    MissingClientId,
    #[error("GOOGLE_CLIENT_SECRET is empty")]
    MissingClientSecret,
    #[error("{name} is not a valid absolute URL: {value}")]
    InvalidUrl { name: &'static str, value: String },
    #[error("could not build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

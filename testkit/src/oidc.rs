//! A fake OpenID Connect provider shaped like Google's, on 127.0.0.1 and a random port.
//!
//! It speaks the real wire protocol of the authorization-code flow with PKCE, so the Google
//! adapter and the HTTP server are tested exactly as they run against Google:
//!
//! - `GET /authorize` checks `client_id`, `redirect_uri` (absolute http(s) URL), `response_type=code`,
//!   `scope` (must hold `openid` and `email`), `state` and `code_challenge` with
//!   `code_challenge_method=S256`, then signs the current [`Profile`] in without a consent screen:
//!   `302` to `redirect_uri?code=..&state=..&scope=..` (or `?error=access_denied&state=..` when
//!   [`FakeOidc::deny_consent`] is set). Invalid requests get a `400` text page, as Google shows
//!   an error page instead of redirecting.
//! - `POST /token` (form-encoded, client credentials by HTTP Basic or form fields) checks
//!   `grant_type=authorization_code`, that the code was issued here, is unused (single use) and
//!   fresh, that `redirect_uri` is the one used at `/authorize` and that SHA-256(`code_verifier`)
//!   is the `code_challenge`; answers `{access_token, token_type: "Bearer", expires_in, scope,
//!   id_token}`. Errors are RFC 6749 JSON (`400 invalid_grant`, `401 invalid_client`, ...).
//! - `GET /userinfo` with `Authorization: Bearer <access_token>` answers
//!   `{sub, email, email_verified, name?, picture?}`.
//!
//! ```no_run
//! # async fn demo() {
//! use meai_testkit::oidc::{FakeOidc, Profile};
//! let idp = FakeOidc::start().await;
//! idp.set_profile(Profile::new("grace@example.com").with_name("Grace Hopper"));
//! // configure the client with FakeOidc::CLIENT_ID / CLIENT_SECRET and
//! // idp.authorize_url(), idp.token_url(), idp.userinfo_url(); drive the flow; then:
//! assert_eq!(idp.requests_to("/token").len(), 1);
//! # }
//! ```

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use poem::http::{StatusCode, header};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Form, Query};
use poem::{EndpointExt, Request, Response, Route, Server, get, handler, post};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// How long an authorization code may wait before it is exchanged (Google: minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(600);
const ACCESS_TOKEN_LIFETIME_SECS: u64 = 3599;

/// The person who "signs in" at the next `/authorize` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The provider's stable subject id.
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
}

impl Profile {
    /// A verified profile with a name and a picture derived from `email`.
    pub fn new(email: &str) -> Self {
        let local = email.split('@').next().unwrap_or(email);
        Self {
            sub: format!("sub-{email}"),
            email: email.to_owned(),
            email_verified: true,
            name: Some(format!("Test {local}")),
            picture: Some(format!("https://pictures.example.com/{local}.png")),
        }
    }

    pub fn with_name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub fn unverified(mut self) -> Self {
        self.email_verified = false;
        self
    }
}

impl Default for Profile {
    fn default() -> Self {
        Self::new("ada@example.com").with_name("Ada Lovelace")
    }
}

/// What `POST /token` does with an otherwise valid request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenOutcome {
    /// Checks the code, PKCE verifier and redirect URI, and issues tokens.
    #[default]
    Issue,
    /// `400 {"error": "invalid_grant"}`, as for an expired or revoked code.
    Reject,
    /// `503` with an HTML body, as an overloaded front end answers.
    Unavailable,
}

/// One request the fake received: query parameters (GET) or form fields (POST).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub params: BTreeMap<String, String>,
    pub authorization: Option<String>,
}

/// A running fake provider. Dropping it stops the server.
pub struct FakeOidc {
    base_url: String,
    shared: Arc<Shared>,
    _shutdown: oneshot::Sender<()>,
}

impl FakeOidc {
    /// The only client registered. Both use unreserved characters only, so the
    /// form-urlencoding RFC 6749 §2.3.1 applies to Basic credentials leaves them as they are.
    pub const CLIENT_ID: &'static str = "meai-test-client.apps.example.com";
    pub const CLIENT_SECRET: &'static str = "meai-test-client-secret";

    /// Binds 127.0.0.1:0 and serves, on the current Tokio runtime, until dropped.
    /// Panics if it cannot bind (tests only).
    pub async fn start() -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind fake OIDC provider");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("a TCP address");
        let base_url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            issuer: base_url.clone(),
            state: Mutex::default(),
        });
        let app = Route::new()
            .at("/authorize", get(authorize))
            .at("/token", post(token))
            .at("/userinfo", get(userinfo))
            .data(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let stop = async move {
                let _ = rx.await;
            };
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, stop, None)
                .await;
        });
        Self {
            base_url,
            shared,
            _shutdown: tx,
        }
    }

    /// `http://127.0.0.1:<port>`: the issuer.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/authorize", self.base_url)
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url)
    }

    pub fn userinfo_url(&self) -> String {
        format!("{}/userinfo", self.base_url)
    }

    /// Who signs in at the next `/authorize` (default: [`Profile::default`]). Codes already
    /// issued keep the profile they were issued for.
    pub fn set_profile(&self, profile: Profile) {
        self.shared.lock().profile = profile;
    }

    pub fn set_token_outcome(&self, outcome: TokenOutcome) {
        self.shared.lock().token_outcome = outcome;
    }

    /// When set, `/authorize` redirects back with `error=access_denied`, as when the user cancels.
    pub fn deny_consent(&self, deny: bool) {
        self.shared.lock().deny_consent = deny;
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The requests to one path (`"/authorize"`, `"/token"`, `"/userinfo"`).
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }
}

impl std::fmt::Debug for FakeOidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOidc")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

struct Shared {
    issuer: String,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not wedge every later request.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Default)]
struct State {
    profile: Profile,
    token_outcome: TokenOutcome,
    deny_consent: bool,
    codes: HashMap<String, Grant>,
    access_tokens: HashMap<String, Profile>,
    requests: Vec<RecordedRequest>,
}

/// What an authorization code stands for.
struct Grant {
    redirect_uri: String,
    code_challenge: String,
    scope: String,
    nonce: Option<String>,
    profile: Profile,
    issued: Instant,
}

type Params = BTreeMap<String, String>;

fn record(state: &mut State, req: &Request, params: &Params) {
    state.requests.push(RecordedRequest {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        params: params.clone(),
        authorization: req.header(header::AUTHORIZATION).map(str::to_owned),
    });
}

fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn bad_request(message: &str) -> Response {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .content_type("text/plain")
        .body(message.to_owned())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({ "error": error, "error_description": description }).to_string())
}

fn redirect(location: &url::Url) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location.as_str())
        .finish()
}

#[handler]
fn authorize(req: &Request, Query(params): Query<Params>, shared: Data<&Arc<Shared>>) -> Response {
    let mut state = shared.lock();
    record(&mut state, req, &params);
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());

    if param("client_id") != Some(FakeOidc::CLIENT_ID) {
        return bad_request("invalid_client: unknown client_id");
    }
    let Some(redirect_uri) = param("redirect_uri") else {
        return bad_request("invalid_request: missing redirect_uri");
    };
    let Ok(mut back) = url::Url::parse(redirect_uri) else {
        return bad_request("redirect_uri_mismatch: redirect_uri is not an absolute URL");
    };
    if !matches!(back.scheme(), "http" | "https") {
        return bad_request("redirect_uri_mismatch: redirect_uri must be http(s)");
    }
    if param("response_type") != Some("code") {
        return bad_request("unsupported_response_type: response_type must be code");
    }
    let scope = param("scope").unwrap_or_default();
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if !scopes.contains(&"openid") || !scopes.contains(&"email") {
        return bad_request("invalid_scope: scope must include openid and email");
    }
    let Some(state_param) = param("state") else {
        return bad_request("invalid_request: missing state");
    };
    let Some(code_challenge) = param("code_challenge") else {
        return bad_request("invalid_request: missing code_challenge");
    };
    if param("code_challenge_method") != Some("S256") {
        return bad_request("invalid_request: code_challenge_method must be S256");
    }

    if state.deny_consent {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", state_param);
        return redirect(&back);
    }
    let code = random_token("4/fake-code-");
    let grant = Grant {
        redirect_uri: redirect_uri.to_owned(),
        code_challenge: code_challenge.to_owned(),
        scope: scopes.join(" "),
        nonce: param("nonce").map(str::to_owned),
        profile: state.profile.clone(),
        issued: Instant::now(),
    };
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state_param)
        .append_pair("scope", &grant.scope);
    state.codes.insert(code, grant);
    redirect(&back)
}

/// Client authentication: HTTP Basic (oauth2's default) or `client_id`/`client_secret` fields.
fn client_authenticated(req: &Request, params: &Params) -> bool {
    let basic = req
        .header(header::AUTHORIZATION)
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (id, secret) = match &basic {
        Some(creds) => match creds.split_once(':') {
            Some((id, secret)) => (id, secret),
            None => return false,
        },
        None => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => (id.as_str(), secret.as_str()),
            _ => return false,
        },
    };
    id == FakeOidc::CLIENT_ID && secret == FakeOidc::CLIENT_SECRET
}

#[handler]
fn token(req: &Request, Form(params): Form<Params>, shared: Data<&Arc<Shared>>) -> Response {
    let mut state = shared.lock();
    record(&mut state, req, &params);

    if !client_authenticated(req, &params) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    }
    if params.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Invalid grant_type.");
    }
    match state.token_outcome {
        TokenOutcome::Issue => {}
        TokenOutcome::Reject => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
        }
        TokenOutcome::Unavailable => {
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .content_type("text/html")
                .body("<html><body>503 Service Unavailable</body></html>");
        }
    }
    // Single use: a code is spent by its first presentation, successful or not.
    let grant = params.get("code").and_then(|c| state.codes.remove(c));
    let Some(grant) = grant.filter(|g| g.issued.elapsed() < CODE_LIFETIME) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Malformed auth code.");
    };
    if params.get("redirect_uri") != Some(&grant.redirect_uri) {
        return oauth_error(StatusCode::BAD_REQUEST, "redirect_uri_mismatch", "Bad Request");
    }
    let Some(verifier) = params.get("code_verifier") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Missing code verifier.");
    };
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.code_challenge {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid code verifier.");
    }

    let access_token = random_token("ya29.fake-");
    let id_token = id_token(&shared.issuer, &grant);
    state.access_tokens.insert(access_token.clone(), grant.profile);
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "scope": grant.scope,
        "id_token": id_token,
    });
    Response::builder()
        .content_type("application/json")
        .body(body.to_string())
}

/// An id_token with Google's claims but NO signature (`alg: none`): it is there so clients see
/// the real response shape, and must never be trusted as is.
fn id_token(issuer: &str, grant: &Grant) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let header = json!({ "alg": "none", "typ": "JWT" });
    let mut claims = json!({
        "iss": issuer,
        "aud": FakeOidc::CLIENT_ID,
        "azp": FakeOidc::CLIENT_ID,
        "sub": grant.profile.sub,
        "email": grant.profile.email,
        "email_verified": grant.profile.email_verified,
        "iat": now,
        "exp": now + ACCESS_TOKEN_LIFETIME_SECS,
    });
    if let Some(nonce) = &grant.nonce {
        claims["nonce"] = json!(nonce);
    }
    let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", part(&header), part(&claims))
}

#[handler]
fn userinfo(req: &Request, shared: Data<&Arc<Shared>>) -> Response {
    let mut state = shared.lock();
    record(&mut state, req, &Params::new());
    let bearer = req
        .header(header::AUTHORIZATION)
        .and_then(|h| h.strip_prefix("Bearer "));
    let Some(profile) = bearer.and_then(|t| state.access_tokens.get(t.trim())) else {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")
            .content_type("application/json")
            .body(json!({ "error": "invalid_request", "error_description": "Invalid Credentials" }).to_string());
    };
    let mut body = json!({ "sub": profile.sub, "email": profile.email, "email_verified": profile.email_verified });
    if let Some(name) = &profile.name {
        body["name"] = json!(name);
    }
    if let Some(picture) = &profile.picture {
        body["picture"] = json!(picture);
    }
    Response::builder()
        .content_type("application/json")
        .body(body.to_string())
}

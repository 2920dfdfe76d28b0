//! Building the application from configuration and serving it on a listener.

use crate::config::{Config, ConfigError};
use crate::http;
use crate::state::{AppState, SignIn};
use meai_core::service::{Conversations, Logins, SessionPolicy, Sessions};
use meai_core::session::TokenCodec;
use meai_core::{AuthMethod, Email, NewUser, Store};
use meai_session::{BiscuitCodec, CachedCodec};
use meai_sql::SqlStore;
use poem::listener::{Acceptor, AcceptorExt, Listener, TcpListener};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Store(#[from] meai_core::StoreError),
    #[error("could not listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("{0}")]
    Other(String),
}

/// Connects the store (migrating it if configured) and wires the use cases.
pub async fn build_state(config: Config) -> Result<AppState, StartError> {
    let sql = SqlStore::connect(config.database_url.expose()).await?;
    if config.migrate_on_start {
        sql.migrate().await?;
    }
    tracing::info!(backend = sql.backend(), "store connected");
    let memory = crate::memory::build(&config, &sql, Arc::new(sql.clone())).await?;
    let state = build_state_with(config, Arc::new(sql))?;
    let recall = Arc::new(crate::metrics::metered::MeteredRecall(memory.recall));
    Ok(AppState {
        turns: state.turns.with_recall(recall),
        memory: Some(memory.memory),
        ..state
    })
}

/// Wires the use cases over a given store (tests pass the in-memory one).
pub fn build_state_with(config: Config, store: Arc<dyn Store>) -> Result<AppState, StartError> {
    let codec = session_codec(&config)?;
    let sessions = Sessions::new(
        store.clone(),
        codec,
        SessionPolicy {
            lifetime: chrono::Duration::seconds(config.cookie_max_age),
        },
        meai_session::new_token_id,
    );
    let sign_in = if let Some(google) = google_config(&config) {
        let identity =
            meai_google::GoogleIdentity::new(&google).map_err(|e| ConfigError::new(format!("Google sign-in: {e}")))?;
        SignIn::Google(Logins::new(store.clone(), Arc::new(identity), sessions.clone()))
    } else {
        tracing::warn!(
            email = %config.local_user_email,
            "LOCAL MODE: Google OAuth is not configured, anyone who can reach this server signs in as the local user"
        );
        let email = Email::parse(&config.local_user_email)
            .ok_or_else(|| ConfigError::new("LOCAL_USER_EMAIL is not an e-mail address"))?;
        SignIn::Local(NewUser {
            email,
            name: Some("Local user".into()),
            avatar_url: None,
            auth_method: AuthMethod::Local,
        })
    };
    let toolkits = crate::toolkits::build(&config, store.clone())?;
    let ops = crate::ops::Ops::new(&config, store.clone())?;
    Ok(AppState {
        turns: crate::toolkits::with_tools(
            crate::turns::build(&config, store.clone(), ops.registry())?,
            toolkits.as_ref(),
        ),
        ops,
        toolkits: toolkits.map(|t| t.connections),
        memory: None,
        conversations: Conversations::new(store.clone()),
        sessions,
        sign_in,
        store,
        config: Arc::new(config),
    })
}

/// Google's client settings, when `GOOGLE_CLIENT_ID` is set (validation made sure the rest is).
fn google_config(config: &Config) -> Option<meai_google::GoogleConfig> {
    let id = config.google_client_id.as_ref()?;
    let secret = config.google_client_secret.as_ref()?.expose();
    let redirect = config.google_redirect_uri.as_ref()?;
    let mut google = meai_google::GoogleConfig::new(id, secret, redirect);
    if let Some(url) = &config.google_auth_url {
        google.auth_url = url.clone();
    }
    if let Some(url) = &config.google_token_url {
        google.token_url = url.clone();
    }
    if let Some(url) = &config.google_userinfo_url {
        google.userinfo_url = url.clone();
    }
    Some(google)
}

fn session_codec(config: &Config) -> Result<Arc<dyn TokenCodec>, StartError> {
    if let Some(path) = &config.session_key_file {
        let hex =
            std::fs::read_to_string(path).map_err(|e| ConfigError::new(format!("SESSION_KEY_FILE {path}: {e}")))?;
        let codec = BiscuitCodec::from_private_key_hex(hex.trim())
            .map_err(|_| ConfigError::new("SESSION_KEY_FILE does not hold a hex Ed25519 private key"))?;
        return Ok(Arc::new(CachedCodec::new(codec)));
    }
    match &config.secret_key {
        Some(secret) => Ok(Arc::new(CachedCodec::new(BiscuitCodec::from_secret(
            secret.expose().as_bytes(),
        )))),
        None => {
            tracing::warn!(
                "SECRET_KEY is not set: sessions are signed with a random key and end when the server stops"
            );
            let mut seed = [0u8; 32];
            rand::fill(&mut seed);
            Ok(Arc::new(CachedCodec::new(BiscuitCodec::from_secret(&seed))))
        }
    }
}

/// The address to listen on: local mode stays on loopback unless explicitly allowed.
pub fn listen_addr(config: &Config) -> SocketAddr {
    let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
    let host = match config.host {
        Some(h) if config.google_enabled() || h.is_loopback() || config.local_mode_allow_remote => h,
        Some(h) => {
            tracing::warn!(requested = %h, "local mode binds to 127.0.0.1; set LOCAL_MODE_ALLOW_REMOTE=true to expose it");
            loopback
        }
        None if config.google_enabled() => std::net::IpAddr::from([0, 0, 0, 0]),
        None => loopback,
    };
    SocketAddr::new(host, config.port)
}

/// A bound server, ready to run. Binding first lets tests use port 0 and read the real port.
pub struct Server {
    acceptor: poem::listener::BoxAcceptor,
    state: AppState,
}

impl Server {
    pub async fn bind(state: AppState, addr: SocketAddr) -> Result<Self, StartError> {
        let acceptor = TcpListener::bind(addr)
            .into_acceptor()
            .await
            .map_err(|source| StartError::Bind {
                addr: addr.to_string(),
                source,
            })?
            .boxed();
        Ok(Self { acceptor, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.acceptor
            .local_addr()
            .into_iter()
            .find_map(|a| a.as_socket_addr().copied())
            .expect("a TCP listener has a socket address")
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully: stops accepting, lets
    /// active runs finish for up to `SHUTDOWN_GRACE_SECONDS`, stops the rest (their partial
    /// answers are persisted and listeners get `last_chunk`), closes the sockets, and returns
    /// once in-flight requests (e.g. SSE answers) ended.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr(), "listening");
        let ops = self.state.ops.clone();
        let grace = Duration::from_secs(self.state.config.shutdown_grace_seconds);
        let app = http::app(self.state);
        let (begun, on_begun) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!(grace_s = grace.as_secs(), "shutting down: no new connections");
            let _ = begun.send(());
        };
        let drain = async move {
            if on_begun.await.is_ok() {
                ops.shutdown(grace).await;
            }
        };
        // In-flight requests get the grace period plus time for stopped runs to wind down.
        let serve = poem::Server::new_with_acceptor(self.acceptor).run_with_graceful_shutdown(
            app,
            signal,
            Some(grace + Duration::from_secs(15)),
        );
        let (served, ()) = tokio::join!(serve, drain);
        tracing::info!("server stopped");
        served
    }
}

//! Building the application from configuration and serving it on a listener.

use crate::adapters::Adapters;
use crate::config::{Config, ConfigError};
use crate::http;
use crate::metrics::metered::{MeteredModel, MeteredRecall, MeteredStages, MeteredTools};
use crate::state::{AppState, SignIn};
use meai_core::archive::{Export, Import};
use meai_core::consent::ToolConsent;
use meai_core::memory::Memory;
use meai_core::model::ChatModel;
use meai_core::service::{AccountDeletion, Conversations, Logins, SessionPolicy, Sessions, UsageReports};
use meai_core::toolkits::{ToolkitConnections, ToolkitTools};
use meai_core::turn::{MemoryKeeper, Recall, ToolExecutor, Turns};
use meai_core::{AuthMethod, Email, NewUser};
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

/// The application as configured: the adapters configuration names, wired.
pub async fn build_state(config: Config) -> Result<AppState, StartError> {
    let adapters = Adapters::from_config(&config).await?;
    assemble(config, adapters).await
}

/// Wires the use cases over the adapters, once (tests pass mock adapters). Measuring decorators
/// wrap the model, the tools and recall here, whoever built the adapters.
pub async fn assemble(config: Config, adapters: Adapters) -> Result<AppState, StartError> {
    let Adapters {
        store,
        source,
        index,
        embedder,
        model,
        toolkits,
        runs,
        notices,
        codec,
        sealer,
        identity,
    } = adapters;
    let sessions = Sessions::new(
        store.clone(),
        codec,
        notices,
        SessionPolicy {
            lifetime: chrono::Duration::seconds(config.cookie_max_age),
        },
        meai_session::new_token_id,
    );
    let sign_in = match identity {
        Some(identity) => SignIn::Google(Logins::new(store.clone(), identity, sessions.clone())),
        None => {
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
        }
    };
    let account = AccountDeletion::new(store.clone(), index.clone(), toolkits.clone());
    let memory = Memory::new(embedder, index, source, store.clone(), crate::memory::settings(&config));
    tracing::info!(
        index = memory.index_kind(),
        embedder = memory.embedder_id(),
        "memory configured"
    );
    let recall: Arc<dyn Recall> = Arc::new(MeteredRecall(crate::memory::recall(&config, &memory)));
    let catalog = crate::toolkits::catalog(&config);
    let mcp = crate::mcp::wire(&config, store.clone(), sealer)?;
    let connections = toolkits
        .as_ref()
        .map(|t| ToolkitConnections::new(store.clone(), t.clone(), catalog.clone()));
    let executor = match (toolkits, &mcp.source) {
        (Some(t), _) => Some(ToolkitTools::new(store.clone(), t, catalog)),
        (None, Some(_)) => Some(ToolkitTools::without_platform(store.clone())),
        (None, None) => None,
    };
    let tools = executor.map(|e| {
        let e = match &mcp.source {
            Some(source) => e.with_source(source.clone()),
            None => e,
        };
        Arc::new(MeteredTools(Arc::new(e))) as Arc<dyn ToolExecutor>
    });
    let ops = crate::ops::Ops::new(&config, runs);
    let consent = crate::consent::consent(&config);
    let tool_consent = ToolConsent::new(store.clone(), tools.clone(), consent.clone());
    let model = model.map(|m| Arc::new(MeteredModel(m)) as Arc<dyn ChatModel>);
    let turns = Turns::builder(store.clone(), ops.registry(), crate::turns::settings(&config))
        .model(model.clone())
        .tools(tools)
        .consent(consent)
        .recall(Some(recall))
        .memories(Some(Arc::new(memory.clone()) as Arc<dyn MemoryKeeper>))
        .summary_model(config.summary_model.clone())
        .timer(Arc::new(crate::turns::TokioTimer))
        .stages(Arc::new(MeteredStages))
        .build();
    let conversations = Conversations::new(store.clone())
        .stopping_answers(turns.clone())
        .choosing_from(model);
    Ok(AppState {
        turns,
        ops,
        toolkits: connections,
        mcp: mcp.servers,
        export: Export::new(store.clone()),
        import: Import::new(store.clone(), memory.clone()),
        account,
        usage: UsageReports::new(store.clone(), crate::turns::prices(&config)?),
        consent: tool_consent,
        memory,
        conversations,
        sessions,
        sign_in,
        store,
        config: Arc::new(config),
    })
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
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    state: AppState,
}

impl Server {
    pub async fn bind(state: AppState, addr: SocketAddr) -> Result<Self, StartError> {
        let bind_error = |source| StartError::Bind {
            addr: addr.to_string(),
            source,
        };
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            listener,
            addr: bound,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully: stops accepting, lets
    /// active runs finish for up to `SHUTDOWN_GRACE_SECONDS`, stops the rest (their partial
    /// answers are persisted and listeners get `last_chunk`), closes the sockets, and returns
    /// once in-flight requests (e.g. SSE answers) ended.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send) -> std::io::Result<()> {
        // Answers cut by the last stop are stored, and their conversations free, before anyone
        // can send the next message.
        crate::recovery::at_start_up(&self.state).await;
        let sweeps = crate::recovery::spawn_sweeps(&self.state);
        tracing::info!(addr = %self.local_addr(), "listening");
        let ops = self.state.ops.clone();
        let grace = Duration::from_secs(self.state.config.shutdown_grace_seconds);
        let limits = crate::serve::Limits::new(&self.state.config);
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
        let serve = crate::serve::serve(self.listener, app, limits, signal, grace + Duration::from_secs(15));
        let (served, ()) = tokio::join!(serve, drain);
        if let Some(sweeps) = sweeps {
            sweeps.abort();
        }
        tracing::info!("server stopped");
        served
    }
}

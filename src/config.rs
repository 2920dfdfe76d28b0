//! Configuration from the environment (and an optional `.env`), with the original system's
//! variable names. Empty values count as unset, as in the original's `.env` template.

use serde::Deserialize;
use std::net::IpAddr;

/// Everything the server reads at start-up. Secrets are wrapped so `Debug` never shows them.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(default = "defaults::app_name")]
    pub app_name: String,
    #[serde(default = "defaults::app_version")]
    pub app_version: String,
    #[serde(default)]
    pub debug: bool,
    #[serde(default)]
    pub environment: Option<String>,

    /// Listen address; in local mode a non-loopback host also needs `LOCAL_MODE_ALLOW_REMOTE`.
    #[serde(default)]
    pub host: Option<IpAddr>,
    #[serde(default = "defaults::port")]
    pub port: u16,
    #[serde(default = "defaults::database_url")]
    pub database_url: Secret,
    #[serde(default = "defaults::yes")]
    pub migrate_on_start: bool,
    #[serde(default = "defaults::max_body_bytes")]
    pub max_body_bytes: usize,
    #[serde(default)]
    pub log_format: LogFormat,

    /// Origins allowed to call the API with credentials (comma-separated).
    #[serde(default = "defaults::frontend_url")]
    pub allowed_origin: String,
    #[serde(default = "defaults::frontend_url")]
    pub frontend_url: String,

    /// Seed of the session-signing key; `SESSION_KEY_FILE` (hex Ed25519 private key) wins if set.
    #[serde(default)]
    pub secret_key: Option<Secret>,
    #[serde(default)]
    pub session_key_file: Option<String>,

    #[serde(default = "defaults::cookie_name")]
    pub cookie_name: String,
    /// Session lifetime and cookie max-age, in seconds.
    #[serde(default = "defaults::cookie_max_age")]
    pub cookie_max_age: i64,
    #[serde(default = "defaults::cookie_path")]
    pub cookie_path: String,
    #[serde(default)]
    pub cookie_domain: Option<String>,
    #[serde(default)]
    pub cookie_secure: bool,
    #[serde(default = "defaults::yes")]
    pub cookie_httponly: bool,
    #[serde(default)]
    pub cookie_samesite: SameSite,

    #[serde(default)]
    pub google_client_id: Option<String>,
    #[serde(default)]
    pub google_client_secret: Option<Secret>,
    #[serde(default)]
    pub google_redirect_uri: Option<String>,
    #[serde(default)]
    pub google_auth_url: Option<String>,
    #[serde(default)]
    pub google_token_url: Option<String>,
    #[serde(default)]
    pub google_userinfo_url: Option<String>,

    #[serde(default = "defaults::local_user_email")]
    pub local_user_email: String,
    #[serde(default)]
    pub local_mode_allow_remote: bool,

    /// Language model provider: `openai`, `gemini` or `anthropic`. Unset: whichever key/base URL
    /// is set.
    #[serde(default)]
    pub model: Option<ModelProvider>,
    #[serde(default)]
    pub openai_api_key: Option<Secret>,
    #[serde(default)]
    pub google_api_key: Option<Secret>,
    /// An OpenAI-compatible server instead of api.openai.com (Ollama, vLLM, llama.cpp).
    #[serde(default)]
    pub openai_base_url: Option<String>,
    #[serde(default)]
    pub gemini_base_url: Option<String>,
    /// Anthropic (Claude).
    #[serde(default)]
    pub anthropic_api_key: Option<Secret>,
    #[serde(default)]
    pub anthropic_base_url: Option<String>,
    /// The default model (of the `MODEL` provider). Defaults: `gpt-4.1-mini` /
    /// `gemini-2.0-flash` / `claude-sonnet-4-5`.
    #[serde(default)]
    pub chat_model: Option<String>,
    /// More chat models a conversation may choose, per provider, comma-separated (`GET /models`
    /// lists them). Every provider with a key (or base URL) is usable at once; a provider other
    /// than `MODEL`'s offers its list here, or its built-in default model.
    #[serde(default)]
    pub openai_models: Option<String>,
    #[serde(default)]
    pub gemini_models: Option<String>,
    #[serde(default)]
    pub anthropic_models: Option<String>,
    /// Also offer the models each provider lists (`GET {base}/models`, cached ten minutes; a
    /// failure leaves the configured ones). Handy for Ollama or vLLM.
    #[serde(default)]
    pub list_provider_models: bool,
    /// Prices for `GET /usage`, per million tokens, as JSON:
    /// `{"gpt-4.1-mini": {"prompt": 0.4, "completion": 1.6}, ...}`. Unset: tokens only.
    #[serde(default)]
    pub model_prices: Option<String>,
    /// Model for titles and summaries; default: the chat model.
    #[serde(default)]
    pub summary_model: Option<String>,
    #[serde(default)]
    pub embedding_model: Option<String>,
    /// Seconds a model may take to start its answer (retries included); 0 disables.
    #[serde(default = "defaults::model_first_token_timeout_seconds")]
    pub model_first_token_timeout_seconds: u64,
    /// Seconds a model may stay silent in the middle of its answer; 0 disables.
    #[serde(default = "defaults::model_chunk_timeout_seconds")]
    pub model_chunk_timeout_seconds: u64,
    /// Seconds one model answer may take in all; 0 disables.
    #[serde(default = "defaults::model_answer_timeout_seconds")]
    pub model_answer_timeout_seconds: u64,

    /// Memory: `provider` (default: the model provider's embeddings when one is configured) or
    /// `lexical` (offline hashed word/char n-grams: word overlap, not meaning).
    #[serde(default)]
    pub embedder: EmbedderKind,
    /// Vector size asked of the embedder (the lexical one defaults to 384).
    #[serde(default)]
    pub embedding_dimensions: Option<usize>,
    /// Where vectors live: `local` (default: the SQL database), `chroma` or `qdrant`.
    #[serde(default)]
    pub vector_store: VectorStoreKind,
    #[serde(default)]
    pub chroma_host: Option<String>,
    #[serde(default)]
    pub chroma_port: Option<u16>,
    #[serde(default)]
    pub chroma_tenant: Option<String>,
    #[serde(default)]
    pub chroma_database: Option<String>,
    /// Qdrant's gRPC URL, e.g. `http://localhost:6334`.
    #[serde(default)]
    pub qdrant_url: Option<String>,
    #[serde(default)]
    pub qdrant_api_key: Option<Secret>,
    /// Recalled messages must be at least this similar (cosine; default 0.3).
    #[serde(default)]
    pub memory_min_score: Option<f32>,
    /// Recall from the user's other conversations too (default true).
    #[serde(default)]
    pub memory_cross_conversation: Option<bool>,
    /// Deadline of recall within a turn, in milliseconds (default 1500).
    #[serde(default)]
    pub memory_recall_timeout_ms: Option<u64>,
    /// Memories one person may keep (extraction stops there, adding one is refused).
    #[serde(default = "defaults::memory_max_per_user")]
    pub memory_max_per_user: u64,
    /// Largest file `POST /import` takes, in bytes (the only body allowed over `MAX_BODY_BYTES`).
    #[serde(default = "defaults::import_max_bytes")]
    pub import_max_bytes: usize,

    /// Composio, for toolkits. Without the key the toolkit endpoints answer 503 and turns
    /// offer no tools.
    #[serde(default)]
    pub composio_api_key: Option<Secret>,
    /// Default `https://backend.composio.dev`; may end in the API prefix (`/api/v3.1`).
    #[serde(default)]
    pub composio_base_url: Option<String>,
    /// Where Composio sends people after they authorize a toolkit; default `FRONTEND_URL`.
    #[serde(default)]
    pub composio_callback_url: Option<String>,
    /// Composio auth config ids (`ac_...`), one per toolkit; a toolkit without one cannot connect.
    #[serde(default)]
    pub google_calendar_auth_config_id: Option<String>,
    #[serde(default)]
    pub notion_auth_config_id: Option<String>,
    #[serde(default)]
    pub gmail_auth_config_id: Option<String>,
    #[serde(default)]
    pub google_tasks_auth_config_id: Option<String>,
    #[serde(default)]
    pub slackbot_auth_config_id: Option<String>,
    #[serde(default)]
    pub twitter_auth_config_id: Option<String>,
    /// Composio toolkits offered to everyone without a connection, comma-separated (web
    /// search, e.g. `COMPOSIO_SEARCH`); default none.
    #[serde(default)]
    pub web_search_toolkits: Option<String>,

    /// MCP servers (README "MCP servers"; needs the `mcp` cargo feature, on by default).
    /// The operator's servers, offered to everyone: a JSON array of
    /// `{"name": "...", "url": "https://.../mcp", "headers": {"X-Api-Key": "..."}}`; loopback and
    /// private addresses are allowed here (servers the operator runs beside meAI).
    #[serde(default)]
    pub mcp_servers: Option<Secret>,
    /// Whether servers people add themselves may be on loopback or a private network (a
    /// single-person install reaching a local server); default false. Metadata addresses are
    /// refused regardless.
    #[serde(default)]
    pub mcp_allow_private_urls: bool,
    /// Seconds one MCP tool call may take before it is cancelled (default 30).
    #[serde(default = "defaults::mcp_call_timeout_seconds")]
    pub mcp_call_timeout_seconds: u64,
    /// Seconds a turn waits for one MCP server to list its tools (connecting included) before
    /// it goes on without them (default 5).
    #[serde(default = "defaults::mcp_list_timeout_seconds")]
    pub mcp_list_timeout_seconds: u64,

    /// Consent: the default policy of tools nobody set a rule for (see README "Approvals").
    #[serde(default)]
    pub tool_approval: ToolApproval,
    /// Seconds a pending approval waits before it is denied; 0: it never expires.
    #[serde(default = "defaults::tool_approval_ttl_seconds")]
    pub tool_approval_ttl_seconds: u64,

    /// Operations (running several instances; see README "Scaling and operations").
    /// Shared run state: with a Redis URL the assistant's runs (event logs, stop requests)
    /// live in Redis so any instance serves any client; without it they stay in-process.
    #[serde(default)]
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key and channel (default `meai`): deployments (or test runs) that
    /// share one Redis keep their runs apart.
    #[serde(default)]
    pub redis_key_prefix: Option<String>,
    /// Bearer token required by `GET /metrics`; unset: open (publish it privately).
    #[serde(default)]
    pub metrics_token: Option<Secret>,
    /// On SIGTERM/SIGINT, how long active answers may go on before they are stopped.
    #[serde(default = "defaults::shutdown_grace_seconds")]
    pub shutdown_grace_seconds: u64,
    /// Messages a user may send per minute (Socket.IO and REST together); 0 disables.
    #[serde(default = "defaults::message_rate_per_minute")]
    pub message_rate_per_minute: u32,
    /// Sign-in requests (`/auth/google`, its callback) per minute from one client IP; 0 disables.
    #[serde(default = "defaults::auth_rate_per_minute")]
    pub auth_rate_per_minute: u32,
    /// Answers being generated at once for one user (across conversations); 0 disables.
    #[serde(default = "defaults::max_concurrent_runs_per_user")]
    pub max_concurrent_runs_per_user: u32,
    /// Longest accepted message, in characters.
    #[serde(default = "defaults::max_message_chars")]
    pub max_message_chars: usize,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    #[serde(default)]
    pub trust_forwarded_for: bool,

    /// Per socket: client events per second (token bucket); 0 disables.
    #[serde(default = "defaults::socket_event_rate")]
    pub socket_event_rate: u32,
    /// Per socket: events allowed at once above the rate.
    #[serde(default = "defaults::socket_event_burst")]
    pub socket_event_burst: u32,
    /// Largest client event, in bytes; larger ones are refused with an `error` (twice this
    /// closes the connection).
    #[serde(default = "defaults::socket_max_event_bytes")]
    pub socket_max_event_bytes: usize,

    /// HTTP connections: seconds a client has to send a request's headers, from its first
    /// byte (and a new connection to send anything).
    #[serde(default = "defaults::http_header_timeout_seconds")]
    pub http_header_timeout_seconds: u64,
    /// Seconds an idle keep-alive connection stays open between requests.
    #[serde(default = "defaults::http_keep_alive_seconds")]
    pub http_keep_alive_seconds: u64,
    /// Connections (HTTP and WebSocket) open at once; more wait to be accepted.
    #[serde(default = "defaults::max_connections")]
    pub max_connections: usize,
    /// Largest request head (request line and headers) in bytes: over it, 431 (or 414 for the
    /// URI alone, over `MAX_URI_BYTES`).
    #[serde(default = "defaults::max_header_bytes")]
    pub max_header_bytes: usize,
    #[serde(default = "defaults::max_uri_bytes")]
    pub max_uri_bytes: usize,
}

/// A setting with a fixed set of values, read case-insensitively; a wrong one names the
/// variable and what it accepts.
macro_rules! choice {
    ($(#[$meta:meta])* $name:ident, $var:literal, { $($(#[$vmeta:meta])* $variant:ident => [$($spelling:literal),+]),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                match raw.trim().to_ascii_lowercase().as_str() {
                    $($($spelling)|+ => Ok(Self::$variant),)+
                    _ => Err(serde::de::Error::custom(format!(
                        "{} must be one of {}, not {raw:?}",
                        $var,
                        [$($($spelling),+),+].join(", ")
                    ))),
                }
            }
        }
    };
}

choice!(
    /// `MODEL`: the chat provider, as the original names it.
    ModelProvider, "MODEL", {
        OpenAi => ["openai"],
        Gemini => ["gemini", "google"],
        Anthropic => ["anthropic", "claude"],
    }
);

impl ModelProvider {
    pub fn provider(self) -> meai_llm::Provider {
        match self {
            Self::OpenAi => meai_llm::Provider::OpenAi,
            Self::Gemini => meai_llm::Provider::Gemini,
            Self::Anthropic => meai_llm::Provider::Anthropic,
        }
    }
}

choice!(
    /// `TOOL_APPROVAL`: which tool calls wait for the person's decision by default.
    #[derive(Default)]
    ToolApproval, "TOOL_APPROVAL", {
        /// Tools declared read-only run at once; every other tool asks.
        #[default]
        AskWrites => ["ask_writes"],
        AskAll => ["ask_all"],
        Auto => ["auto"],
    }
);

choice!(
    /// `EMBEDDER`: the model provider's embeddings (the default), or the offline lexical embedder.
    #[derive(Default)]
    EmbedderKind, "EMBEDDER", {
        #[default]
        Provider => ["provider"],
        Lexical => ["lexical"],
    }
);

choice!(
    /// `VECTOR_STORE`: where message vectors live.
    #[derive(Default)]
    VectorStoreKind, "VECTOR_STORE", {
        /// A table beside the messages, in the SQL database.
        #[default]
        Local => ["local"],
        Chroma => ["chroma"],
        Qdrant => ["qdrant"],
    }
);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    #[default]
    #[serde(alias = "Lax")]
    Lax,
    #[serde(alias = "Strict")]
    Strict,
    #[serde(alias = "None")]
    None,
}

/// A configuration value that must never be printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A start-up failure naming the setting at fault, in one line.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

impl Config {
    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let vars = vars
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k, python_bool(v)));
        let config: Self = envy::from_iter(vars).map_err(|e| ConfigError(describe(e)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError(
                "DATABASE_URL must start with sqlite: or postgres://".into(),
            ));
        }
        if self.cookie_max_age <= 0 {
            return Err(ConfigError(
                "COOKIE_MAX_AGE must be a positive number of seconds".into(),
            ));
        }
        if self.cookie_samesite == SameSite::None && !self.cookie_secure {
            return Err(ConfigError(
                "COOKIE_SAMESITE=none requires COOKIE_SECURE=true (browsers drop the cookie)".into(),
            ));
        }
        if self.google_client_id.is_some() {
            for (name, set) in [
                ("GOOGLE_CLIENT_SECRET", self.google_client_secret.is_some()),
                ("GOOGLE_REDIRECT_URI", self.google_redirect_uri.is_some()),
                (
                    "SECRET_KEY or SESSION_KEY_FILE",
                    self.secret_key.is_some() || self.session_key_file.is_some(),
                ),
            ] {
                if !set {
                    return Err(ConfigError(format!("{name} is required when GOOGLE_CLIENT_ID is set")));
                }
            }
            // The session key is one HKDF step from the secret: a short one can be guessed
            // offline from any token. (A key file is checked when it is read.)
            if self.session_key_file.is_none()
                && let Some(secret) = &self.secret_key
                && secret.expose().len() < MIN_SECRET_KEY_BYTES
            {
                return Err(ConfigError(format!(
                    "SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes with Google sign-in (e.g. `openssl rand -hex 32`), or set SESSION_KEY_FILE"
                )));
            }
        }
        for (name, value, min, max) in [
            ("SOCKET_MAX_EVENT_BYTES", self.socket_max_event_bytes, 1024, 64 << 20),
            ("MAX_CONNECTIONS", self.max_connections, 1, 1 << 20),
            ("MAX_HEADER_BYTES", self.max_header_bytes, 1024, 1 << 20),
            ("MAX_URI_BYTES", self.max_uri_bytes, 256, self.max_header_bytes),
            (
                "HTTP_HEADER_TIMEOUT_SECONDS",
                to_usize(self.http_header_timeout_seconds),
                1,
                3600,
            ),
            (
                "HTTP_KEEP_ALIVE_SECONDS",
                to_usize(self.http_keep_alive_seconds),
                1,
                24 * 3600,
            ),
            (
                "MCP_CALL_TIMEOUT_SECONDS",
                to_usize(self.mcp_call_timeout_seconds),
                1,
                3600,
            ),
            (
                "MCP_LIST_TIMEOUT_SECONDS",
                to_usize(self.mcp_list_timeout_seconds),
                1,
                300,
            ),
        ] {
            if !(min..=max).contains(&value) {
                return Err(ConfigError(format!(
                    "{name} must be between {min} and {max}, not {value}"
                )));
            }
        }
        Ok(())
    }

    /// Google sign-in is on when its client is configured; otherwise the server runs in
    /// single-user local mode.
    pub fn google_enabled(&self) -> bool {
        self.google_client_id.is_some()
    }

    pub fn allowed_origins(&self) -> impl Iterator<Item = &str> {
        self.allowed_origin.split(',').map(str::trim).filter(|s| !s.is_empty())
    }
}

/// The shortest `SECRET_KEY` Google mode accepts: 256 bits if it is random bytes.
pub const MIN_SECRET_KEY_BYTES: usize = 32;

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// envy names fields in lower case; the user knows them in upper case.
fn describe(e: envy::Error) -> String {
    match e {
        envy::Error::MissingValue(field) => format!("{} is required", field.to_uppercase()),
        envy::Error::Custom(msg) => msg,
    }
}

/// The original (pydantic) accepted `True`, `yes`, `off`...; spell them as Rust parses booleans.
fn python_bool(v: String) -> String {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => "true".into(),
        "false" | "no" | "off" => "false".into(),
        _ => v,
    }
}

mod defaults {
    use super::Secret;

    pub fn app_name() -> String {
        "meAI".into()
    }
    pub fn app_version() -> String {
        env!("CARGO_PKG_VERSION").into()
    }
    pub fn port() -> u16 {
        8080
    }
    pub fn database_url() -> Secret {
        Secret::new("sqlite://meai.db")
    }
    pub fn yes() -> bool {
        true
    }
    pub fn max_body_bytes() -> usize {
        1024 * 1024
    }
    pub fn frontend_url() -> String {
        "http://localhost:5173".into()
    }
    pub fn cookie_name() -> String {
        "session".into()
    }
    pub fn cookie_max_age() -> i64 {
        7 * 24 * 3600
    }
    pub fn cookie_path() -> String {
        "/".into()
    }
    pub fn shutdown_grace_seconds() -> u64 {
        30
    }
    pub fn model_first_token_timeout_seconds() -> u64 {
        30
    }
    pub fn model_chunk_timeout_seconds() -> u64 {
        30
    }
    pub fn model_answer_timeout_seconds() -> u64 {
        90
    }
    pub fn message_rate_per_minute() -> u32 {
        20
    }
    pub fn auth_rate_per_minute() -> u32 {
        30
    }
    pub fn max_concurrent_runs_per_user() -> u32 {
        3
    }
    pub fn max_message_chars() -> usize {
        32_000
    }
    pub fn memory_max_per_user() -> u64 {
        1_000
    }
    pub fn import_max_bytes() -> usize {
        64 * 1024 * 1024
    }
    pub fn tool_approval_ttl_seconds() -> u64 {
        24 * 3600
    }
    pub fn mcp_call_timeout_seconds() -> u64 {
        30
    }
    pub fn mcp_list_timeout_seconds() -> u64 {
        5
    }
    pub fn socket_event_rate() -> u32 {
        20
    }
    pub fn socket_event_burst() -> u32 {
        40
    }
    pub fn socket_max_event_bytes() -> usize {
        256 * 1024
    }
    pub fn http_header_timeout_seconds() -> u64 {
        10
    }
    pub fn http_keep_alive_seconds() -> u64 {
        60
    }
    pub fn max_connections() -> usize {
        16_384
    }
    pub fn max_header_bytes() -> usize {
        16 * 1024
    }
    pub fn max_uri_bytes() -> usize {
        8 * 1024
    }
    pub fn local_user_email() -> String {
        "me@localhost.localdomain".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(c.cookie_name, "session");
        assert!(!c.google_enabled());
        assert!(c.cookie_httponly);
    }

    #[test]
    fn empty_values_are_unset_and_flags_accept_python_spelling() {
        let c = Config::from_vars(vars(&[("PORT", ""), ("COOKIE_SECURE", "True"), ("DEBUG", "yes")])).unwrap();
        assert_eq!(c.port, 8080);
        assert!(c.cookie_secure && c.debug);
    }

    #[test]
    fn malformed_value_names_the_variable() {
        let e = Config::from_vars(vars(&[("PORT", "eighty")])).unwrap_err().to_string();
        assert!(e.contains("PORT"), "{e}");
        let e = Config::from_vars(vars(&[("COOKIE_HTTPONLY", "maybe")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("COOKIE_HTTPONLY"), "{e}");
    }

    #[test]
    fn choices_are_parsed_when_configuration_loads() {
        let c = Config::from_vars(vars(&[
            ("MODEL", "gemini"),
            ("EMBEDDER", "lexical"),
            ("VECTOR_STORE", "qdrant"),
        ]))
        .unwrap();
        assert_eq!(c.model, Some(ModelProvider::Gemini));
        assert_eq!(
            (c.embedder, c.vector_store),
            (EmbedderKind::Lexical, VectorStoreKind::Qdrant)
        );
        let defaults = Config::from_vars(vars(&[])).unwrap();
        assert_eq!((defaults.model, defaults.vector_store), (None, VectorStoreKind::Local));
        for (var, bad) in [("MODEL", "llama"), ("EMBEDDER", "magic"), ("VECTOR_STORE", "faiss")] {
            let e = Config::from_vars(vars(&[(var, bad)])).unwrap_err().to_string();
            assert!(e.contains(var) && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn google_mode_requires_its_settings() {
        let e = Config::from_vars(vars(&[("GOOGLE_CLIENT_ID", "id")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("GOOGLE_CLIENT_SECRET"), "{e}");
    }

    #[test]
    fn google_mode_refuses_a_weak_secret_key_and_names_it() {
        let google = |secret: &str, key_file: Option<&str>| {
            let mut v = vec![
                ("GOOGLE_CLIENT_ID", "id"),
                ("GOOGLE_CLIENT_SECRET", "s"),
                ("GOOGLE_REDIRECT_URI", "https://meai.example.com/auth/google/callback"),
                ("SECRET_KEY", secret),
            ];
            v.extend(key_file.map(|f| ("SESSION_KEY_FILE", f)));
            Config::from_vars(vars(&v))
        };
        let e = google("x", None).unwrap_err().to_string();
        assert!(e.contains("SECRET_KEY") && e.contains("32"), "{e}");
        let e = google(&"k".repeat(31), None).unwrap_err().to_string();
        assert!(e.contains("SECRET_KEY"), "{e}");
        assert!(google(&"k".repeat(32), None).is_ok());
        // A key file replaces the secret (and is itself checked when the codec reads it).
        assert!(google("x", Some("/etc/meai/session.key")).is_ok());
        // Local mode keeps accepting whatever it is given.
        assert!(Config::from_vars(vars(&[("SECRET_KEY", "x")])).is_ok());
    }

    #[test]
    fn limits_are_bounded() {
        for (var, bad) in [
            ("MAX_CONNECTIONS", "0"),
            ("MAX_HEADER_BYTES", "10"),
            ("HTTP_HEADER_TIMEOUT_SECONDS", "0"),
            ("HTTP_KEEP_ALIVE_SECONDS", "999999999"),
            ("SOCKET_MAX_EVENT_BYTES", "1"),
        ] {
            let e = Config::from_vars(vars(&[(var, bad)])).unwrap_err().to_string();
            assert!(e.contains(var), "{e}");
        }
        let e = Config::from_vars(vars(&[("MAX_HEADER_BYTES", "4096"), ("MAX_URI_BYTES", "8192")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MAX_URI_BYTES"), "{e}");
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let c = Config::from_vars(vars(&[
            ("SECRET_KEY", "hunter2"),
            ("DATABASE_URL", "postgres://u:pw@h/db"),
        ]))
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2") && !dbg.contains("pw@h"), "{dbg}");
    }
}

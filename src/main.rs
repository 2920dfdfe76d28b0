use clap::{Parser, Subcommand};
use meai::config::Config;
use meai::startup::{self, Server};
use std::process::ExitCode;

/// jemalloc with its background thread: memory freed after a burst (closed sockets, a flood)
/// goes back to the system within seconds; glibc's allocator kept it (BENCHMARKS.md, "Hostile
/// clients").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: pages freed after a burst go back within half a
/// second rather than its default ten, so a burst's peak stays lower (1,000 streams at once:
/// ~10 MiB, BENCHMARKS.md "Close to the limit, fourth pass"). `MALLOC_CONF` still overrides.
/// The symbol is unprefixed where tikv-jemallocator replaces `malloc` (Linux), prefixed elsewhere.
#[cfg(all(not(target_env = "msvc"), target_os = "linux"))]
#[unsafe(export_name = "malloc_conf")]
static MALLOC_CONF: &[u8; 19] = b"dirty_decay_ms:500\0";
#[cfg(all(not(target_env = "msvc"), not(target_os = "linux")))]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 19] = b"dirty_decay_ms:500\0";

/// meAI: the backend of a personal AI assistant.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve {
        /// Run database migrations before serving (also `MIGRATE_ON_START`, on by default).
        #[arg(long)]
        migrate: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI spec and exit.
    Openapi,
    /// Rebuild the vector index from the database (after switching embedder or vector store).
    Reindex,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        println!("{}", meai::http::spec_json());
        return ExitCode::SUCCESS;
    }
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    meai::telemetry::init(config.log_format, config.debug);
    let result = match cli.command {
        Some(Command::Migrate) => migrate(&config).await,
        Some(Command::Reindex) => reindex(&config).await,
        Some(Command::Serve { migrate }) => {
            config.migrate_on_start |= migrate;
            serve(config).await
        }
        None => serve(config).await,
        Some(Command::Openapi) => unreachable!("handled above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("meai: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &Config) -> Result<(), startup::StartError> {
    let store = meai_sql::SqlStore::connect(config.database_url.expose()).await?;
    store.migrate().await?;
    tracing::info!(backend = store.backend(), "migrations applied");
    Ok(())
}

/// Clears the configured index, then embeds every stored message again.
async fn reindex(config: &Config) -> Result<(), startup::StartError> {
    let store = meai_sql::SqlStore::connect(config.database_url.expose()).await?;
    store.migrate().await?;
    let memory = meai_core::memory::Memory::new(
        meai::memory::embedder(config)?,
        meai::memory::index(config, &store).await?,
        std::sync::Arc::new(store.clone()),
        std::sync::Arc::new(store),
        meai::memory::settings(config),
    );
    let started = std::time::Instant::now();
    let indexed = memory
        .reindex(256)
        .await
        .map_err(|e| startup::StartError::Other(format!("reindex: {e}")))?;
    tracing::info!(
        indexed,
        index = memory.index_kind(),
        embedder = memory.embedder_id(),
        seconds = started.elapsed().as_secs_f64(),
        "reindex finished"
    );
    println!(
        "reindexed {indexed} messages into the {} index ({})",
        memory.index_kind(),
        memory.embedder_id()
    );
    Ok(())
}

async fn serve(config: Config) -> Result<(), startup::StartError> {
    let addr = startup::listen_addr(&config);
    let state = startup::build_state(config).await?;
    let server = Server::bind(state, addr).await?;
    server
        .run(shutdown_signal())
        .await
        .map_err(|e| startup::StartError::Other(e.to_string()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

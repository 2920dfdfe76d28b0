//! Logging set-up: human-readable by default, JSON lines with `LOG_FORMAT=json`.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat, debug: bool) {
    let default = if debug {
        "debug,sqlx=warn,hyper=info"
    } else {
        "info,sqlx=warn,sea_orm=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

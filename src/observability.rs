//! Logging and tracing, set up once per process. Named so it does not collide with the
//! product's flow telemetry.
use tracing_subscriber::{fmt, EnvFilter};

/// `RUST_LOG` filters (default `info`); `AUTONOMOS_LOG_FORMAT=json` for structured logs.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("AUTONOMOS_LOG_FORMAT").is_ok_and(|v| v == "json");
    let result = if json {
        fmt().with_env_filter(filter).json().try_init()
    } else {
        fmt().with_env_filter(filter).try_init()
    };
    // A second init (tests) is harmless.
    let _ = result;
}

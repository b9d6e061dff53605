//! The server under test, run as its own process (the release `autonomos` binary next to this
//! one), and the few settings the references need (database, Redis, model), read from the
//! same config files and `AUTONOMOS__…` variables the server reads.
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::process::{Child, Command};

/// What the references are measured against: the server's own services and model.
#[derive(Debug, Deserialize)]
pub struct Services {
    pub database: Database,
    pub redis: Redis,
    #[serde(default)]
    pub embedding: Embedding,
}

#[derive(Debug, Deserialize)]
pub struct Database {
    /// The application role (row-level security applies).
    pub url: String,
    /// The owner role (the benchmarks seed large tenants with it).
    pub migration_url: String,
}

#[derive(Debug, Deserialize)]
pub struct Redis {
    pub url: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Embedding {
    #[serde(default)]
    pub model_dir: String,
}

impl Services {
    /// Reads `config/base.yaml`, `config/$AUTONOMOS_ENV.yaml` and `AUTONOMOS__…` overrides.
    pub fn load() -> anyhow::Result<Self> {
        let env = std::env::var("AUTONOMOS_ENV").unwrap_or_else(|_| "local".to_owned());
        let dir = std::env::var_os("AUTONOMOS_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        Ok(config::Config::builder()
            .add_source(config::File::from(dir.join("base.yaml")))
            .add_source(config::File::from(dir.join(format!("{env}.yaml"))).required(false))
            .add_source(
                config::Environment::with_prefix("AUTONOMOS")
                    .prefix_separator("__")
                    .separator("__"),
            )
            .build()?
            .try_deserialize()?)
    }

    /// The model directory as the server resolves it.
    pub fn model_dir(&self) -> PathBuf {
        if !self.embedding.model_dir.is_empty() {
            return PathBuf::from(&self.embedding.model_dir);
        }
        if let Some(dir) = std::env::var_os("AUTONOMOS_MODEL_DIR") {
            return PathBuf::from(dir);
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".cache/autonomos/models/all-minilm-l6-v2-int8")
    }
}

/// Gives this benchmark run a database of its own, made afresh (what earlier runs left behind
/// would weigh on this one's figures), migrated, and named in `AUTONOMOS__DATABASE__…` for the
/// server processes and the references. Extensions come from the cluster's template.
pub async fn fresh_database(name: &str) -> anyhow::Result<()> {
    use sea_orm::ConnectionTrait;
    anyhow::ensure!(
        name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "a plain database name"
    );
    let services = Services::load()?;
    let swap = |url: &str| match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => url.to_owned(),
    };
    let app_role = services
        .database
        .url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split([':', '@']).next())
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(
        !app_role.is_empty()
            && app_role
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "the application role is not in the database url"
    );
    let owner = sea_orm::Database::connect(&services.database.migration_url).await?;
    owner
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    owner
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    owner.close().await?;
    let fresh = sea_orm::Database::connect(swap(&services.database.migration_url)).await?;
    fresh
        .execute_unprepared(&format!(
            "GRANT CONNECT ON DATABASE {name} TO {app_role};
             GRANT USAGE ON SCHEMA public TO {app_role};
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_role};
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app_role};
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO {app_role};"
        ))
        .await?;
    fresh.close().await?;
    std::env::set_var("AUTONOMOS__DATABASE__URL", swap(&services.database.url));
    std::env::set_var(
        "AUTONOMOS__DATABASE__MIGRATION_URL",
        swap(&services.database.migration_url),
    );
    let status = Command::new(server_binary()?)
        .arg("migrate")
        .env("RUST_LOG", "warn")
        .status()
        .await?;
    anyhow::ensure!(status.success(), "migrating {name} failed");
    Ok(())
}

/// The release `autonomos` binary next to this one.
fn server_binary() -> anyhow::Result<PathBuf> {
    Ok(std::env::current_exe()?
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no bin dir"))?
        .join("autonomos"))
}

/// The running server; stopped when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Starts `autonomos serve` on a free loopback port with `settings` as `AUTONOMOS__…`
    /// overrides (e.g. `("SYNC__BATCH_SIZE", "1000")`) and waits until `/health` answers.
    pub async fn start(settings: &[(&str, String)]) -> anyhow::Result<Self> {
        let bin = server_binary()?;
        let port = free_port()?;
        let mut command = Command::new(&bin);
        command
            .arg("serve")
            .env("AUTONOMOS__SERVER__PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in settings {
            command.env(format!("AUTONOMOS__{key}"), value);
        }
        let child = command
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {}: {e}", bin.display()))?;
        let server = Server { child, port };
        let health = format!("{}/health", server.base_url());
        for _ in 0..600 {
            if reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("server did not come up on {port}")
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.base_url())
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// The server process's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmHWM:")
    }
}

/// A process's resident memory now (`VmRSS`), in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

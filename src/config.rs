//! Layered, typed settings: `config/base.yaml`, `config/<env>.yaml`, then `AUTONOMOS__*` env vars.
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub graphql: GraphqlSettings,
    pub embedding: EmbeddingSettings,
    pub proposals: ProposalSettings,
    pub vectors: VectorSettings,
    pub sync: SyncSettings,
    pub workers: WorkerSettings,
    pub webhooks: WebhookSettings,
    pub records: RecordSettings,
    pub exports: ExportSettings,
    pub telemetry: TelemetrySettings,
    pub limits: LimitSettings,
    pub quotas: QuotaSettings,
    pub uploads: UploadSettings,
    pub otel: OtelSettings,
    pub outbound: OutboundSettings,
    pub metrics: MetricsSettings,
}

/// Where tenants' connectors may connect: public addresses, plus what an operator allows here
/// for sources on private networks. The platform's own services are refused regardless.
#[derive(Debug, Clone, Deserialize)]
pub struct OutboundSettings {
    /// CIDRs (`10.20.0.0/16`) and `host:port` pairs (`warehouse.corp:5432`).
    #[serde(default)]
    pub allow: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    /// When set, `/metrics` answers only `Authorization: Bearer <token>` (required in production).
    pub token: SecretString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorBackend {
    Pgvector,
    Qdrant,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VectorSettings {
    pub backend: VectorBackend,
    pub qdrant: QdrantSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct QdrantSettings {
    /// gRPC endpoint, e.g. http://127.0.0.1:6334.
    pub url: String,
    pub api_key: SecretString,
    pub collection: String,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EmbeddingSettings {
    /// Directory with model.onnx, tokenizer files and libonnxruntime.so.*; empty = default.
    pub model_dir: String,
    pub model_id: String,
    pub batch_size: usize,
    pub cache_entries: usize,
}

impl EmbeddingSettings {
    pub fn resolved_model_dir(&self) -> PathBuf {
        if !self.model_dir.is_empty() {
            return PathBuf::from(&self.model_dir);
        }
        if let Some(dir) = std::env::var_os("AUTONOMOS_MODEL_DIR") {
            return PathBuf::from(dir);
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        home.join(".cache/autonomos/models/all-minilm-l6-v2-int8")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProposalSettings {
    pub auto_apply_threshold: f64,
    pub review_threshold: f64,
    pub max_fields_per_call: usize,
    /// Fields one bulk proposal job (`startProposalJob`) may carry.
    pub max_fields_per_job: usize,
    /// Fields a bulk job proposes per transaction (its checkpoint).
    pub job_chunk_fields: usize,
    pub exact_cache_ttl_secs: u64,
    /// Query texts whose nearest knowledge is kept in process (0: off).
    pub neighbour_cache_entries: usize,
    pub llm: LlmSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExportSettings {
    /// Where export files are written, one directory per tenant.
    pub dir: PathBuf,
    /// How long a download link works.
    pub url_ttl_secs: u64,
}

/// Entity resolution (see `config/base.yaml`).
#[derive(Debug, Clone, Deserialize)]
pub struct RecordSettings {
    pub resolve: bool,
    pub auto_link: f64,
    pub review_from: f64,
    pub block_cap: usize,
    pub default_country: String,
    /// Queued records the resolution stage takes per transaction.
    pub batch_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SyncSettings {
    /// CSV connectors read files under this directory only (relative paths resolve against it).
    pub file_root: PathBuf,
    /// Source records per batch: one transaction and one checkpoint each.
    pub batch_size: usize,
    /// Concurrent sync runs per tenant, across all server processes (coordinated in Redis).
    pub concurrency_per_tenant: usize,
    /// Entities of one sync run read at the same time.
    pub entities_in_parallel: usize,
    /// A running job that has not reported for this long is taken over by another process.
    pub resume_stale_after_secs: u64,
    /// The shortest interval a sync schedule may have.
    pub min_schedule_interval_secs: u64,
    /// Seconds between a connector's schema checks unless it sets its own.
    pub schema_check_secs: u64,
    /// The shortest interval between schema checks a connector may set.
    pub min_schema_check_secs: u64,
    /// Failures of a connector's source in a row (tests and runs) that make it FAILING and its
    /// status ERROR, until a success.
    pub failing_after: u32,
}

/// Webhook deliveries.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    /// Seconds before each retry of a failed delivery; given up after the last.
    pub retry_schedule_secs: Vec<u64>,
    /// How long an endpoint has to answer.
    pub timeout_ms: u64,
    /// Failed attempts in a row (any delivery) that disable an endpoint.
    pub disable_after_failures: u32,
    /// Items waiting for review (proposals and match pairs) above which a sync run that added
    /// some sends `review_queue.above_threshold`.
    pub review_queue_threshold: i64,
}

/// Background work: due schedules, queued and abandoned runs.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    /// `serve` also works (runs its own requests' syncs and the tick below); false leaves all of
    /// it to `autonomos worker` processes.
    pub embedded: bool,
    /// How often a worker starts due schedules and adopts runs no live process holds (0: never;
    /// tests drive it).
    pub tick_millis: u64,
    /// A queued run no process has picked up for this long is taken by a worker.
    pub adopt_queued_after_secs: u64,
    /// Due schedules and adopted runs taken per tick by one process.
    pub batch: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Mutations per tenant per minute (a token bucket in Redis: bursts up to this, then steady).
    pub writes_per_minute: u32,
    /// Queries per tenant per minute.
    pub reads_per_minute: u32,
    /// Requests per minute from one IP address before it has authenticated (sign-up, login).
    pub anonymous_per_minute: u32,
    /// How long a mutation's response is kept for replay under its `Idempotency-Key`.
    pub idempotency_ttl_secs: u64,
}

/// OpenTelemetry trace export (OTLP over HTTP, protobuf); off while `endpoint` is empty.
#[derive(Debug, Clone, Deserialize)]
pub struct OtelSettings {
    /// Collector base URL, e.g. `http://127.0.0.1:4318` (spans go to `<endpoint>/v1/traces`).
    pub endpoint: String,
    pub service_name: String,
    /// Share of new traces sampled (0..1); a sampled incoming `traceparent` is always followed.
    pub sample_ratio: f64,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UploadSettings {
    /// Largest CSV file accepted by `PUT /uploads/{name}`.
    pub max_bytes: u64,
}

/// Default per-tenant quotas; a tenant's row in `tenant_quotas` overrides any of them.
#[derive(Debug, Clone, Deserialize)]
pub struct QuotaSettings {
    /// Connectors a tenant may have.
    pub connectors: u64,
    /// Source fields proposed per calendar month (UTC).
    pub proposals_per_month: u64,
    /// Canonical events written by sync runs per clock hour (UTC).
    pub events_per_hour: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TelemetrySettings {
    /// Entries kept per flow stream (approximate MAXLEN trimming on every append).
    pub stream_max_len: usize,
    /// Events waiting to be appended to Redis; beyond this new events are dropped and counted.
    pub buffer: usize,
    /// Events appended per Redis round trip.
    pub batch: usize,
    /// A subscriber further behind the stream than this is closed (it can resume with `since`).
    pub max_subscriber_lag_secs: u64,
    /// Events a subscription reads from Redis at a time.
    pub read_count: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LlmSettings {
    pub provider: String,
    pub base_url: String,
    pub model: String,
    pub api_key: SecretString,
    pub timeout_ms: u64,
    pub max_fields_per_call: usize,
    pub max_confidence: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub graphiql: bool,
    pub introspection: bool,
    pub frontend_dir: PathBuf,
    /// Origins allowed to call the API from a browser (CORS); empty: same origin only.
    #[serde(default)]
    pub cors_origins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub migration_url: SecretString,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub url: SecretString,
    pub api_key_cache_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// The current token signing key, named `jwt_key_id` in each token's header.
    pub jwt_secret: SecretString,
    pub jwt_key_id: String,
    /// Keys being retired: tokens they signed still verify until they are removed here.
    #[serde(default)]
    pub previous_jwt_keys: Vec<SigningKey>,
    /// 32 bytes, base64: the master key connector secrets are encrypted under (per tenant).
    pub secrets_key: SecretString,
    /// Earlier master keys, still able to decrypt while `autonomos rotate-secrets-key` runs.
    #[serde(default)]
    pub previous_secrets_keys: Vec<SecretString>,
    pub jwt_issuer: String,
    /// A token's lifetime, whatever its own `exp` claims.
    pub token_ttl_minutes: i64,
    pub invite_ttl_hours: i64,
    /// How often an open WebSocket re-checks its credentials (expiry, revocation, access).
    pub recheck_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SigningKey {
    pub id: String,
    pub secret: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GraphqlSettings {
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Most aliased fields one request may hold, across a batch (aliases multiply work).
    pub max_aliases: usize,
    /// Lexical tokens in one document, counted before it is parsed.
    pub max_tokens: usize,
    /// Fields a request selects with its fragments expanded (computed without expanding).
    pub max_fields: u64,
    /// Fragment spreads written in one document.
    pub max_fragment_spreads: usize,
    /// Directives on one field or fragment.
    pub max_directives: usize,
    /// How long a persisted query is kept after its last use.
    pub persisted_query_ttl_secs: u64,
    /// A request running longer is stopped (its transaction rolls back) with code TIMEOUT.
    pub timeout_secs: u64,
    pub max_page_size: u32,
    pub default_page_size: u32,
    /// graphql-transport-ws: a socket without an accepted `connection_init` this long is closed
    /// with 4408.
    pub ws_init_timeout_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot load settings: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl Settings {
    /// Loads settings for `AUTONOMOS_ENV` (default `local`) from `<root>/config`.
    pub fn load() -> Result<Self, ConfigError> {
        let env = std::env::var("AUTONOMOS_ENV").unwrap_or_else(|_| "local".to_owned());
        Self::load_from(&config_dir(), &env)
    }

    pub fn load_from(dir: &Path, env: &str) -> Result<Self, ConfigError> {
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from(dir.join("base.yaml")))
            .add_source(config::File::from(dir.join(format!("{env}.yaml"))).required(false))
            .add_source(
                config::Environment::with_prefix("AUTONOMOS")
                    .prefix_separator("__")
                    .separator("__"),
            )
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        if env == "production" {
            settings.validate_production()?;
        }
        Ok(settings)
    }

    /// Production refuses what only development may use: the shipped secrets and database
    /// passwords, and an open `/metrics`.
    pub fn validate_production(&self) -> Result<(), ConfigError> {
        let refuse = |key: &'static str, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_owned(),
            })
        };
        let shipped = [
            ("auth.jwt_secret", self.auth.jwt_secret.expose_secret()),
            ("auth.secrets_key", self.auth.secrets_key.expose_secret()),
        ];
        for (key, value) in shipped {
            if DEVELOPMENT_SECRETS.contains(&value) {
                return refuse(key, "is the development value; set a secret of your own");
            }
        }
        let urls = [
            ("database.url", self.database.url.expose_secret()),
            (
                "database.migration_url",
                self.database.migration_url.expose_secret(),
            ),
        ];
        for (key, url) in urls {
            let password = url::Url::parse(url)
                .ok()
                .and_then(|u| u.password().map(str::to_owned))
                .unwrap_or_default();
            if DEVELOPMENT_SECRETS.contains(&password.as_str()) {
                return refuse(key, "uses the development password");
            }
        }
        if self.metrics.token.expose_secret().is_empty() {
            return refuse(
                "metrics.token",
                "must be set in production (/metrics is not public)",
            );
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.auth.jwt_secret.expose_secret().len() < 32 {
            return Err(ConfigError::Invalid {
                key: "auth.jwt_secret",
                reason: "must be at least 32 bytes (set AUTONOMOS__AUTH__JWT_SECRET)".into(),
            });
        }
        if crate::infra::crypto::SecretsKey::from_base64(self.auth.secrets_key.expose_secret())
            .is_err()
        {
            return Err(ConfigError::Invalid {
                key: "auth.secrets_key",
                reason: "must be 32 bytes, base64-encoded (set AUTONOMOS__AUTH__SECRETS_KEY)"
                    .into(),
            });
        }
        for key in &self.auth.previous_jwt_keys {
            if key.secret.expose_secret().len() < 32
                || key.id.is_empty()
                || key.id == self.auth.jwt_key_id
            {
                return Err(ConfigError::Invalid {
                    key: "auth.previous_jwt_keys",
                    reason:
                        "each needs an id other than jwt_key_id and a secret of at least 32 bytes"
                            .into(),
                });
            }
        }
        for key in &self.auth.previous_secrets_keys {
            if crate::infra::crypto::SecretsKey::from_base64(key.expose_secret()).is_err() {
                return Err(ConfigError::Invalid {
                    key: "auth.previous_secrets_keys",
                    reason: "each must be 32 bytes, base64-encoded".into(),
                });
            }
        }
        if !(1..=24 * 60).contains(&self.auth.token_ttl_minutes) {
            return Err(ConfigError::Invalid {
                key: "auth.token_ttl_minutes",
                reason: "must be between 1 and 1440".into(),
            });
        }
        let r = &self.records;
        if !(0.0 < r.review_from && r.review_from <= r.auto_link && r.auto_link <= 1.0) {
            return Err(ConfigError::Invalid {
                key: "records.auto_link",
                reason: "needs 0 < review_from <= auto_link <= 1".into(),
            });
        }
        if !(1..=20_000).contains(&r.batch_size) {
            return Err(ConfigError::Invalid {
                key: "records.batch_size",
                reason: "must be between 1 and 20000".into(),
            });
        }
        if r.block_cap < 2
            || r.default_country.is_empty()
            || !r.default_country.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ConfigError::Invalid {
                key: "records.block_cap",
                reason: "block_cap must be at least 2 and default_country a calling code (digits)"
                    .into(),
            });
        }
        if let Err(reason) = crate::infra::outbound::OutboundPolicy::new(&self.outbound.allow, &[])
        {
            return Err(ConfigError::Invalid {
                key: "outbound.allow",
                reason,
            });
        }
        if self.graphql.default_page_size == 0
            || self.graphql.default_page_size > self.graphql.max_page_size
        {
            return Err(ConfigError::Invalid {
                key: "graphql.default_page_size",
                reason: "must be between 1 and graphql.max_page_size".into(),
            });
        }
        if self.vectors.backend == VectorBackend::Qdrant
            && (self.vectors.qdrant.url.is_empty() || self.vectors.qdrant.collection.is_empty())
        {
            return Err(ConfigError::Invalid {
                key: "vectors.qdrant",
                reason: "the qdrant backend needs url and collection".into(),
            });
        }
        if !(1..=10_000).contains(&self.sync.batch_size)
            || self.sync.concurrency_per_tenant == 0
            || !(1..=64).contains(&self.sync.entities_in_parallel)
            || !(1..=1_000).contains(&self.sync.failing_after)
        {
            return Err(ConfigError::Invalid {
                key: "sync",
                reason: "need 1 <= batch_size <= 10000, concurrency_per_tenant >= 1, 1 <= entities_in_parallel <= 64 and 1 <= failing_after <= 1000".into(),
            });
        }
        let p = &self.proposals;
        if !(0.0 < p.review_threshold
            && p.review_threshold < p.auto_apply_threshold
            && p.auto_apply_threshold <= 1.0)
        {
            return Err(ConfigError::Invalid {
                key: "proposals",
                reason: "need 0 < review_threshold < auto_apply_threshold <= 1".into(),
            });
        }
        if p.job_chunk_fields == 0 || p.job_chunk_fields > p.max_fields_per_call {
            return Err(ConfigError::Invalid {
                key: "proposals.job_chunk_fields",
                reason: "need 1 <= job_chunk_fields <= max_fields_per_call".into(),
            });
        }
        if !matches!(p.llm.provider.as_str(), "none" | "openai_compatible") {
            return Err(ConfigError::Invalid {
                key: "proposals.llm.provider",
                reason: "must be none or openai_compatible".into(),
            });
        }
        if p.llm.provider == "openai_compatible"
            && (p.llm.base_url.is_empty() || p.llm.model.is_empty())
        {
            return Err(ConfigError::Invalid {
                key: "proposals.llm",
                reason: "openai_compatible needs base_url and model".into(),
            });
        }
        Ok(())
    }
}

/// Values shipped for development in `config/base.yaml` and `scripts/`: never in production.
const DEVELOPMENT_SECRETS: &[&str] = &[
    "local-development-secret-change-me-0123456789",
    "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LWNoYW5nZS1tZSE=",
    "autonomos_app_dev",
    "autonomos_owner_dev",
];

/// `AUTONOMOS_CONFIG_DIR`, else `./config`, else the source tree's `config/` when run by cargo.
/// The source tree is read from the environment at run time, never baked in at compile time:
/// builds share a target directory across clones, so a compile-time path can name another clone.
fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AUTONOMOS_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    let cwd = PathBuf::from("config");
    if cwd.join("base.yaml").is_file() {
        return cwd;
    }
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(root) => Path::new(&root).join("config"),
        None => cwd,
    }
}

//! `Application::build` is the one app builder, used by `main` and by the tests (port 0).
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::domains::auth::service::AuthService;
use crate::domains::connectors::runtime::ConnectorRuntime;
use crate::domains::connectors::service::ConnectorService;
use crate::domains::mappings::knowledge::Knowledge;
use crate::domains::mappings::llm::LlmProvider;
use crate::domains::mappings::neighbour_cache::NeighbourCache;
use crate::domains::mappings::proposals::{self, ProposalEngine};
use crate::domains::mappings::service::MappingRegistry;
use crate::domains::pipeline::dispatch;
use crate::domains::pipeline::service::Pipeline;
use crate::domains::telemetry::live::LiveFeed;
use crate::domains::telemetry::publisher::Telemetry;
use crate::domains::webhooks::service::WebhookService;
use crate::graphql::extensions::OperationMetrics;
use crate::graphql::schema;
use crate::http;
use crate::infra::embed::Embedder;
use crate::infra::vector::VectorStore;
use crate::infra::{db, redis};
use crate::services::Services;
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    services: Services,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // Bound before anything else so the outbound policy knows the API's own address.
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let Core { state, services } = Core::build(settings, port).await?;
        if state.settings.workers.embedded {
            dispatch::spawn(services.pipeline.as_ref().clone());
        }
        let schema = services
            .register(schema::builder(&state.settings))
            .extension(OperationMetrics(state.metrics.clone()))
            .data(state.clone())
            .finish();
        let frontend = state.settings.server.frontend_dir.clone();
        let app_state = state.clone();
        let app_services = services.clone();
        let cors_origins = state.settings.server.cors_origins.clone();
        let server = HttpServer::new(move || {
            let app = App::new()
                .wrap(cors(&cors_origins))
                .wrap(security_headers())
                .wrap(TracingLogger::default())
                .app_data(web::Data::new(app_state.clone()))
                .app_data(web::Data::new(schema.clone()))
                .configure(|cfg| app_services.configure(cfg))
                .configure(http::routes);
            if frontend.join("index.html").is_file() {
                app.service(actix_files::Files::new("/", frontend.clone()).index_file("index.html"))
            } else {
                app.route("/", web::get().to(landing))
            }
        })
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            state,
            services,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Everything but HTTP: the state and services `serve` and `worker` both run on.
pub struct Core {
    pub state: AppState,
    pub services: Services,
}

impl Core {
    /// `api_port` is the API's own port, which tenants' connections are never allowed to reach.
    pub async fn build(settings: Settings, api_port: u16) -> anyhow::Result<Self> {
        let db = db::connect(&settings.database).await?;
        let redis = redis::connect(&settings.redis).await?;
        let redis_client = redis::client(&settings.redis)?;
        let redis_for_telemetry = redis.clone();
        let telemetry_settings = settings.telemetry.clone();
        let embedding = settings.embedding.clone();
        let settings_llm = settings.proposals.llm.clone();
        let neighbour_cache_entries = settings.proposals.neighbour_cache_entries;
        let secrets = Arc::new(secrets_key(&settings.auth)?);
        // Loading the model parses ~23 MB of ONNX: not on the executor.
        let embedder = tokio::task::spawn_blocking(move || Embedder::load(&embedding)).await??;
        let outbound = Arc::new(outbound_policy(&settings, api_port)?);
        let settings_file_root = settings.sync.file_root.clone();
        let vectors = VectorStore::from_settings(&settings.vectors, embedder.dimension().await?)
            .await
            .map_err(|e| anyhow::anyhow!("vector store ({:?}): {e}", settings.vectors.backend))?;
        let telemetry = Telemetry::start(redis_for_telemetry, &telemetry_settings);
        let jobs = Arc::new(crate::domains::jobs::Jobs::new(
            db.clone(),
            redis.clone(),
            telemetry.clone(),
            &settings.sync,
            &settings.workers,
        ));
        let connector_service = Arc::new(ConnectorService {
            db: db.clone(),
            secrets: secrets.clone(),
            outbound: outbound.clone(),
            quotas: settings.quotas.clone(),
            failing_after: settings.sync.failing_after,
        });
        let exports = Arc::new(crate::domains::lineage::export::Exports::new(
            db.clone(),
            &settings,
        ));
        let settings = Arc::new(settings);
        let embedder = Arc::new(embedder);
        let vectors = Arc::new(vectors);
        let metrics = Arc::new(crate::infra::metrics::Metrics::new()?);
        let proposals = Arc::new(ProposalEngine {
            db: db.clone(),
            redis: redis.clone(),
            settings: settings.clone(),
            embedder,
            vectors,
            knowledge: Knowledge::builtin()?,
            llm: LlmProvider::from_settings(&settings_llm)?,
            neighbours: NeighbourCache::new(neighbour_cache_entries),
            telemetry: telemetry.clone(),
            metrics: metrics.clone(),
        });
        let webhooks = Arc::new(WebhookService {
            db: db.clone(),
            secrets,
            outbound: outbound.clone(),
            settings: settings.webhooks.clone(),
        });
        let connector_runtime = Arc::new(ConnectorRuntime::new(outbound, settings_file_root));
        let services = Services {
            auth: Arc::new(AuthService::new(
                db.clone(),
                redis.clone(),
                settings.clone(),
            )),
            mappings: Arc::new(MappingRegistry {
                db: db.clone(),
                telemetry: telemetry.clone(),
            }),
            pipeline: Arc::new(Pipeline {
                db: db.clone(),
                settings: settings.clone(),
                jobs: jobs.clone(),
                connectors: connector_service.clone(),
                runtime: connector_runtime.clone(),
                proposals: proposals.clone(),
                telemetry: telemetry.clone(),
                metrics: metrics.clone(),
                webhooks: webhooks.clone(),
            }),
            live: Arc::new(LiveFeed {
                redis_client,
                redis: redis.clone(),
                read_count: settings.telemetry.read_count,
                max_lag: std::time::Duration::from_secs(settings.telemetry.max_subscriber_lag_secs),
                metrics: metrics.clone(),
            }),
            proposals,
            jobs,
            connectors: connector_service,
            connector_runtime,
            exports,
            webhooks,
            telemetry: Arc::new(telemetry),
        };
        let state = AppState {
            db,
            redis,
            settings,
            metrics,
        };
        let seeded = proposals::seed_baseline(&services.proposals)
            .await
            .map_err(|e| anyhow::anyhow!("seeding baseline knowledge: {}: {e:?}", e.message()))?;
        if seeded > 0 {
            tracing::info!(vectors = seeded, "baseline knowledge embedded");
        }
        std::fs::create_dir_all(&state.settings.sync.file_root).map_err(|e| {
            anyhow::anyhow!(
                "sync.file_root {}: {e}",
                state.settings.sync.file_root.display()
            )
        })?;
        Ok(Self { state, services })
    }
}

/// `autonomos worker`: starts due schedules and runs sync runs, serving no API.
pub async fn run_worker(settings: Settings) -> anyhow::Result<()> {
    let port = settings.server.port;
    let core = Core::build(settings, port).await?;
    if core.state.settings.workers.tick_millis == 0 {
        anyhow::bail!("workers.tick_millis is 0: a worker would never look for work");
    }
    dispatch::spawn(core.services.pipeline.as_ref().clone());
    tracing::info!("worker running");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        signal = tokio::signal::ctrl_c() => signal?,
        _ = terminate.recv() => {}
    }
    // Runs in flight stop beating; another process adopts them from their last checkpoint.
    Ok(())
}

/// The connector-secrets key, with the earlier keys a rotation still reads.
pub fn secrets_key(
    auth: &crate::config::AuthSettings,
) -> Result<crate::infra::crypto::SecretsKey, crate::infra::crypto::CryptoError> {
    use secrecy::ExposeSecret;
    let previous: Vec<&str> = auth
        .previous_secrets_keys
        .iter()
        .map(|k| k.expose_secret())
        .collect();
    crate::infra::crypto::SecretsKey::with_previous(auth.secrets_key.expose_secret(), &previous)
}

/// The outbound policy with the platform's own endpoints: its databases, Redis, Qdrant, the
/// trace collector and this API itself.
fn outbound_policy(
    settings: &Settings,
    port: u16,
) -> anyhow::Result<crate::infra::outbound::OutboundPolicy> {
    use secrecy::ExposeSecret;
    let mut own = vec![
        settings.database.url.expose_secret().to_owned(),
        settings.database.migration_url.expose_secret().to_owned(),
        settings.redis.url.expose_secret().to_owned(),
        settings.vectors.qdrant.url.clone(),
        format!("http://{}:{port}", settings.server.host),
    ];
    if !settings.otel.endpoint.is_empty() {
        own.push(settings.otel.endpoint.clone());
    }
    crate::infra::outbound::OutboundPolicy::new(&settings.outbound.allow, &own)
        .map_err(|e| anyhow::anyhow!(e))
}

/// Headers every response carries unless its handler set its own (GraphiQL sets a looser CSP).
fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
}

/// Cross-origin browser access only for the configured origins (none: same origin only).
fn cors(origins: &[String]) -> actix_web::middleware::Condition<actix_cors::Cors> {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
        ])
        .allowed_header("idempotency-key")
        .allowed_header("x-api-key")
        .allowed_header("traceparent")
        .expose_headers(["x-trace-id", "retry-after", "idempotency-replayed"])
        .max_age(3600);
    for o in origins {
        cors = cors.allowed_origin(o);
    }
    actix_web::middleware::Condition::new(!origins.is_empty(), cors)
}

/// Served at `/` until the UI has been built.
async fn landing() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(
        "<!doctype html><title>AutonomOS</title><h1>AutonomOS</h1>\
         <p>GraphQL API: <a href=\"/graphql\">/graphql</a> (GraphiQL) · health: <a href=\"/health\">/health</a></p>",
    )
}

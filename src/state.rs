//! Process-wide state, registered once with actix-web and the GraphQL schema.
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::domains::auth::token::TokenKeys;
use crate::domains::telemetry::publisher::Telemetry;
use crate::infra::embed::Embedder;
use crate::infra::redis::Redis;
use crate::infra::vector::VectorStore;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: Redis,
    pub settings: Arc<Settings>,
    pub tokens: Arc<TokenKeys>,
    pub embedder: Arc<Embedder>,
    pub vectors: Arc<VectorStore>,
    /// Proposals, the review queue and semantic search.
    pub proposals: Arc<crate::domains::mappings::proposals::ProposalEngine>,
    /// Claims, beats and resumes background jobs (sync runs).
    pub jobs: Arc<crate::domains::jobs::Jobs>,
    /// The connectors domain: configs, secrets, the checks on endpoints.
    pub connector_service: Arc<crate::domains::connectors::service::ConnectorService>,
    /// Lineage exports: files, signed links.
    pub exports: Arc<crate::domains::lineage::export::Exports>,
    /// Opens connectors' sources (REST guards kept for the life of the process).
    pub connectors: Arc<crate::domains::connectors::runtime::ConnectorRuntime>,
    /// Flow events out to Redis Streams (buffered; never fails the caller).
    pub telemetry: Telemetry,
    /// Opens the dedicated connection each subscription blocks on (XREAD BLOCK).
    pub redis_client: redis::Client,
    /// Prometheus metrics (`/metrics`).
    pub metrics: Arc<crate::infra::metrics::Metrics>,
}

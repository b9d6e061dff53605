//! Process-wide infrastructure, registered once with actix-web and the GraphQL schema. Domain
//! state lives in each domain's service (`crate::services::Services`).
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::infra::embed::Embedder;
use crate::infra::redis::Redis;
use crate::infra::vector::VectorStore;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: Redis,
    pub settings: Arc<Settings>,
    pub embedder: Arc<Embedder>,
    pub vectors: Arc<VectorStore>,
    /// Opens the dedicated connection each subscription blocks on (XREAD BLOCK).
    pub redis_client: redis::Client,
    /// Prometheus metrics (`/metrics`).
    pub metrics: Arc<crate::infra::metrics::Metrics>,
}

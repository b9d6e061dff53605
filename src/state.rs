//! Process-wide infrastructure the handlers and resolvers share, registered once with actix-web
//! and the GraphQL schema. The embedder, vector store and the subscriptions' Redis client belong
//! to the services that use them (`crate::services::Services`).
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::infra::redis::Redis;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: Redis,
    pub settings: Arc<Settings>,
    /// Prometheus metrics (`/metrics`).
    pub metrics: Arc<crate::infra::metrics::Metrics>,
}

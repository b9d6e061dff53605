//! One service per domain, built once in `startup.rs` and registered once: each is schema data
//! (`ContextExt::service::<T>()`) and actix app data (`web::Data<T>`) on its own, so a resolver
//! or handler names exactly the services it takes. `AppState` keeps the infrastructure.
use std::sync::Arc;

use crate::domains::auth::service::AuthService;
use crate::domains::connectors::runtime::ConnectorRuntime;
use crate::domains::connectors::service::ConnectorService;
use crate::domains::jobs::Jobs;
use crate::domains::lineage::export::Exports;
use crate::domains::mappings::proposals::ProposalEngine;
use crate::domains::mappings::service::MappingRegistry;
use crate::domains::pipeline::service::Pipeline;
use crate::domains::telemetry::live::LiveFeed;
use crate::domains::telemetry::publisher::Telemetry;
use crate::domains::webhooks::service::WebhookService;

#[derive(Clone)]
pub struct Services {
    /// Sign-up, sessions, API keys, request authentication.
    pub auth: Arc<AuthService>,
    /// The mapping registry: versions, approvals, rollback.
    pub mappings: Arc<MappingRegistry>,
    /// Proposals, the review queue and semantic search.
    pub proposals: Arc<ProposalEngine>,
    /// Claims, beats and resumes background jobs.
    pub jobs: Arc<Jobs>,
    /// Connector configs, secrets and the checks on endpoints.
    pub connectors: Arc<ConnectorService>,
    /// Opens connectors' sources (REST guards kept for the life of the process).
    pub connector_runtime: Arc<ConnectorRuntime>,
    /// Lineage exports: files and signed links.
    pub exports: Arc<Exports>,
    /// Sync runs and their records.
    pub pipeline: Arc<Pipeline>,
    /// What live subscriptions read from.
    pub live: Arc<LiveFeed>,
    /// Flow events out to Redis Streams (buffered; never fails the caller).
    pub telemetry: Arc<Telemetry>,
    /// Webhook endpoints and their deliveries.
    pub webhooks: Arc<WebhookService>,
}

impl Services {
    /// Registers every service with the GraphQL schema.
    pub fn register<Q, M, S>(
        &self,
        builder: async_graphql::SchemaBuilder<Q, M, S>,
    ) -> async_graphql::SchemaBuilder<Q, M, S> {
        builder
            .data(self.auth.clone())
            .data(self.mappings.clone())
            .data(self.proposals.clone())
            .data(self.jobs.clone())
            .data(self.connectors.clone())
            .data(self.connector_runtime.clone())
            .data(self.exports.clone())
            .data(self.pipeline.clone())
            .data(self.live.clone())
            .data(self.telemetry.clone())
            .data(self.webhooks.clone())
    }

    /// Registers the services the HTTP handlers take with an actix app.
    pub fn configure(&self, cfg: &mut actix_web::web::ServiceConfig) {
        use actix_web::web::Data;
        cfg.app_data(Data::from(self.auth.clone()))
            .app_data(Data::from(self.exports.clone()))
            .app_data(Data::from(self.telemetry.clone()));
    }
}

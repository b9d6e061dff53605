//! One Query and one Mutation object per domain, merged into the schema.
use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use super::errors::ErrorCodes;
use super::extensions::Timeout;
use crate::config::Settings;
use crate::domains::audit::graphql::AuditQuery;
use crate::domains::auth::graphql::{AuthMutation, AuthQuery};
use crate::domains::connectors::graphql::{ConnectorMutation, ConnectorQuery};
use crate::domains::lineage::graph_graphql::LineageGraphQuery;
use crate::domains::lineage::graphql::{LineageMutation, LineageQuery, MetricsQuery};
use crate::domains::mappings::graphql::{MappingMutation, MappingQuery};
use crate::domains::mappings::proposal_jobs_graphql::{ProposalJobMutation, ProposalJobQuery};
use crate::domains::mappings::proposals_graphql::{ProposalMutation, ProposalQuery};
use crate::domains::ontology::graphql::OntologyQuery;
use crate::domains::pipeline::graphql::{PipelineMutation, PipelineQuery};
use crate::domains::pipeline::observer_graphql::{ObserverMutation, ObserverQuery};
use crate::domains::pipeline::preview::PreviewQuery;
use crate::domains::pipeline::schedules::ScheduleMutation;
use crate::domains::quotas::graphql::QuotaQuery;
use crate::domains::records::graphql::{RecordsMutation, RecordsQuery};
use crate::domains::telemetry::graphql::{
    TelemetryMutation, TelemetryQuery, TelemetrySubscription,
};
use crate::domains::webhooks::graphql::{WebhookMutation, WebhookQuery};

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    AuthQuery,
    OntologyQuery,
    ConnectorQuery,
    MappingQuery,
    ProposalQuery,
    ProposalJobQuery,
    PipelineQuery,
    ObserverQuery,
    PreviewQuery,
    LineageQuery,
    LineageGraphQuery,
    MetricsQuery,
    AuditQuery,
    TelemetryQuery,
    QuotaQuery,
    RecordsQuery,
    WebhookQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    AuthMutation,
    ConnectorMutation,
    MappingMutation,
    ProposalMutation,
    ProposalJobMutation,
    PipelineMutation,
    ScheduleMutation,
    ObserverMutation,
    LineageMutation,
    TelemetryMutation,
    RecordsMutation,
    WebhookMutation,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(TelemetrySubscription);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema with its limits, without process state (enough for SDL export).
pub fn builder(settings: &Settings) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(settings.graphql.max_depth)
    .limit_complexity(settings.graphql.max_complexity)
    .limit_recursive_depth(32)
    .extension(ErrorCodes)
    .extension(Timeout(std::time::Duration::from_secs(
        settings.graphql.timeout_secs.max(1),
    )));
    if !settings.server.introspection {
        builder = builder.disable_introspection();
    }
    builder
}

/// The SDL that `schema.graphql` must match.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl()
}

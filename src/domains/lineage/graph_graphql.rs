//! The lineage graph over GraphQL: nodes and edges around a root, and a source field's impact.
use async_graphql::{Context, Enum, Object, SimpleObject, ID};

use super::service;
use crate::domains::auth::model::Role;
use crate::error::AppError;
use crate::graphql::context::ContextExt;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "super::graph::Direction")]
pub enum GraphDirection {
    Upstream,
    Downstream,
    Both,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "super::graph::NodeKind")]
pub enum GraphNodeKind {
    Connector,
    SourceEntity,
    SourceField,
    CanonicalField,
    CanonicalEntity,
    /// The materialized canonical records of an entity.
    Consumer,
}

#[derive(SimpleObject)]
pub struct GraphNode {
    /// Stable id, usable as `rootId` (`connector:…`, `entity:…`, `field:…`, `canonical_field:…`, …).
    pub id: String,
    pub kind: GraphNodeKind,
    pub name: String,
}

/// A weighted edge (values validated through a mapping, fields under an entity, records of an
/// entity), ready for a Sankey diagram.
#[derive(SimpleObject)]
pub struct GraphEdge {
    pub source: String,
    pub target: String,
    pub weight: f64,
    pub mapping_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct LineageGraph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// True when the graph stopped at its node limit.
    pub truncated: bool,
}

#[derive(SimpleObject)]
pub struct LineageImpact {
    pub source_field_id: String,
    /// `entity.field` of every canonical field the source field feeds.
    pub canonical_fields: Vec<String>,
    /// Canonical records holding a value it produced.
    pub records: u64,
}

#[derive(Default)]
pub struct LineageGraphQuery;

#[Object]
impl LineageGraphQuery {
    /// Nodes and weighted edges around `rootId`, `depth` steps upstream, downstream or both.
    async fn lineage_graph(
        &self,
        ctx: &Context<'_>,
        root_id: String,
        #[graphql(default_with = "GraphDirection::Both")] direction: GraphDirection,
        #[graphql(default = 3)] depth: i32,
    ) -> async_graphql::Result<LineageGraph> {
        let scope = ctx.scope(Role::Viewer)?;
        let depth = u32::try_from(depth)
            .map_err(|_| AppError::bad_field("depth", "must be between 1 and 6"))?;
        let g = service::graph(&ctx.app()?.db, &scope, &root_id, direction.into(), depth).await?;
        Ok(LineageGraph {
            nodes: g
                .nodes
                .into_iter()
                .map(|(id, name)| GraphNode {
                    id: id.encode(),
                    kind: id.kind().into(),
                    name,
                })
                .collect(),
            edges: g
                .edges
                .into_iter()
                .map(|e| GraphEdge {
                    source: e.source.encode(),
                    target: e.target.encode(),
                    weight: e.weight,
                    mapping_id: e.mapping_id.map(|m| ID(m.to_string())),
                })
                .collect(),
            truncated: g.truncated,
        })
    }

    /// Impact analysis: what depends on one source field.
    async fn lineage_impact(
        &self,
        ctx: &Context<'_>,
        source_field_id: String,
    ) -> async_graphql::Result<LineageImpact> {
        let scope = ctx.scope(Role::Viewer)?;
        let (canonical_fields, records) =
            service::impact(&ctx.app()?.db, &scope, &source_field_id).await?;
        Ok(LineageImpact {
            source_field_id,
            canonical_fields,
            records,
        })
    }
}

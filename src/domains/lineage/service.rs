//! The lineage grid and tree.
use uuid::Uuid;

use super::grid::{Cursor, Filter, Sort};
use super::model::GridEntry;
use super::store::{self, GridQuery, TreeRow};
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::service as connectors;
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;
use sea_orm::DatabaseConnection;

pub struct GridPage {
    pub rows: Vec<GridEntry>,
    pub has_next: bool,
    pub total: u64,
}

pub struct GridRequest {
    pub filter: Option<Filter>,
    pub search: Option<String>,
    pub sort: Sort,
    pub after: Option<Cursor>,
    pub limit: u64,
}

pub async fn grid(
    db: &DatabaseConnection,
    scope: &TenantScope,
    req: GridRequest,
) -> AppResult<GridPage> {
    let tx = ScopedTx::begin(db, scope).await?;
    let query = GridQuery {
        filter: req.filter.as_ref(),
        search: req.search.as_deref().filter(|s| !s.trim().is_empty()),
        sort: req.sort,
        after: req.after.as_ref(),
        limit: req.limit,
    };
    let (mut rows, total) = store::grid_page(&tx, &query).await?;
    let has_next = rows.len() as u64 > req.limit;
    rows.truncate(req.limit as usize);
    Ok(GridPage {
        rows,
        has_next,
        total,
    })
}

/// What a subtree holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeCounts {
    pub fields: u64,
    pub mapped: u64,
    pub pending_review: u64,
    pub unmapped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Connector,
    SourceEntity,
    SourceField,
    CanonicalField,
}

#[derive(Debug, Clone)]
pub struct TreeNode {
    pub id: String,
    pub kind: NodeKind,
    pub name: String,
    pub confidence: Option<f64>,
    pub status: Option<String>,
    pub counts: TreeCounts,
    pub children: Vec<TreeNode>,
}

fn count_of(rows: &[&TreeRow]) -> TreeCounts {
    let mut c = TreeCounts::default();
    for r in rows {
        c.fields += 1;
        match (r.status.as_deref(), r.review_confidence) {
            (Some("ACTIVE"), _) => c.mapped += 1,
            (Some("PENDING_REVIEW"), _) | (_, Some(_)) => c.pending_review += 1,
            _ => c.unmapped += 1,
        }
    }
    c
}

/// connector → source entity → field → canonical target, `depth` levels deep (1 to 4).
pub async fn tree(
    db: &DatabaseConnection,
    scope: &TenantScope,
    connector_id: Uuid,
    depth: u32,
) -> AppResult<TreeNode> {
    if !(1..=4).contains(&depth) {
        return Err(AppError::bad_field("depth", "must be between 1 and 4"));
    }
    let tx = ScopedTx::begin(db, scope).await?;
    let connector = connectors::find(&tx, connector_id)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    let rows = store::tree_rows(&tx, connector_id).await?;
    let all: Vec<&TreeRow> = rows.iter().collect();
    let mut entities: Vec<&str> = rows.iter().map(|r| r.source_entity.as_str()).collect();
    entities.dedup();
    let children = if depth < 2 {
        Vec::new()
    } else {
        entities
            .into_iter()
            .map(|entity| {
                let of: Vec<&TreeRow> = rows.iter().filter(|r| r.source_entity == entity).collect();
                TreeNode {
                    id: format!("{connector_id}/{entity}"),
                    kind: NodeKind::SourceEntity,
                    name: entity.to_owned(),
                    confidence: None,
                    status: None,
                    counts: count_of(&of),
                    children: if depth < 3 {
                        Vec::new()
                    } else {
                        of.iter()
                            .map(|r| field_node(connector_id, r, depth))
                            .collect()
                    },
                }
            })
            .collect()
    };
    Ok(TreeNode {
        id: connector_id.to_string(),
        kind: NodeKind::Connector,
        name: connector.name,
        confidence: None,
        status: Some(connector.status.as_str().to_owned()),
        counts: count_of(&all),
        children,
    })
}

fn field_node(connector: Uuid, r: &TreeRow, depth: u32) -> TreeNode {
    let (status, confidence, target) = match (&r.status, &r.canonical_entity, &r.canonical_field) {
        (Some(s), Some(e), Some(f)) => (Some(s.clone()), r.confidence, Some(format!("{e}.{f}"))),
        _ => match (&r.review_entity, &r.review_field) {
            (Some(e), Some(f)) => (
                Some("PENDING_REVIEW".to_owned()),
                r.review_confidence,
                Some(format!("{e}.{f}")),
            ),
            _ => (Some("UNMAPPED".to_owned()), None, None),
        },
    };
    let one = [r];
    TreeNode {
        id: format!("{connector}/{}/{}", r.source_entity, r.field),
        kind: NodeKind::SourceField,
        name: r.field.clone(),
        confidence,
        status: status.clone(),
        counts: count_of(&one),
        children: match target {
            Some(t) if depth >= 4 => vec![TreeNode {
                id: format!(
                    "{}/{t}",
                    r.mapping_id.map(|m| m.to_string()).unwrap_or_default()
                ),
                kind: NodeKind::CanonicalField,
                name: t,
                confidence,
                status,
                counts: TreeCounts::default(),
                children: Vec::new(),
            }],
            _ => Vec::new(),
        },
    }
}

/// The graph around a node id (see `graph::NodeId::encode`).
pub async fn graph(
    db: &DatabaseConnection,
    scope: &TenantScope,
    root: &str,
    direction: super::graph::Direction,
    depth: u32,
) -> AppResult<super::graph::Graph> {
    use super::graph::{self, NodeId};
    if !(1..=6).contains(&depth) {
        return Err(AppError::bad_field("depth", "must be between 1 and 6"));
    }
    let root = NodeId::parse(root)
        .ok_or_else(|| AppError::bad_field("rootId", "is not a lineage node id"))?;
    let tx = ScopedTx::begin(db, scope).await?;
    if let NodeId::Connector(c) | NodeId::Entity(c, _) | NodeId::Field(c, ..) = &root {
        connectors::find(&tx, *c)
            .await?
            .ok_or(AppError::NotFound { what: "connector" })?;
    }
    let mut g = graph::expand(&tx, root, direction, depth).await?;
    let ids: Vec<Uuid> = g
        .nodes
        .iter()
        .filter_map(|(n, _)| match n {
            NodeId::Connector(c) => Some(*c),
            _ => None,
        })
        .collect();
    let names = graph::connector_names(&tx, &ids).await?;
    for (node, name) in &mut g.nodes {
        if let NodeId::Connector(c) = node {
            if let Some(n) = names.get(c) {
                name.clone_from(n);
            }
        }
    }
    Ok(g)
}

/// Canonical fields and records that depend on one source field.
pub async fn impact(
    db: &DatabaseConnection,
    scope: &TenantScope,
    field_id: &str,
) -> AppResult<(Vec<String>, u64)> {
    use super::graph::{self, NodeId};
    let Some(NodeId::Field(c, e, f)) = NodeId::parse(field_id) else {
        return Err(AppError::bad_field(
            "sourceFieldId",
            "must be a source field node id (field:<connector>:<entity>:<field>)",
        ));
    };
    let tx = ScopedTx::begin(db, scope).await?;
    connectors::find(&tx, c)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    Ok(graph::impact(&tx, c, &e, &f).await?)
}

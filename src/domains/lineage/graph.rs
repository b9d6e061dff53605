//! The lineage graph around one node, for Sankey diagrams and impact analysis. Nodes:
//! connector → source entity → source field → canonical field → canonical entity → consumer
//! (the materialized canonical records). Expanded breadth-first from the root, upstream,
//! downstream or both, a bounded number of nodes.
use std::collections::{HashMap, HashSet, VecDeque};

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use uuid::Uuid;

use crate::tenancy::ScopedTx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Connector,
    SourceEntity,
    SourceField,
    CanonicalField,
    CanonicalEntity,
    Consumer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upstream,
    Downstream,
    Both,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NodeId {
    Connector(Uuid),
    Entity(Uuid, String),
    Field(Uuid, String, String),
    CanonicalField(String, String),
    CanonicalEntity(String),
    Consumer(String),
}

impl NodeId {
    pub fn kind(&self) -> NodeKind {
        match self {
            Self::Connector(_) => NodeKind::Connector,
            Self::Entity(..) => NodeKind::SourceEntity,
            Self::Field(..) => NodeKind::SourceField,
            Self::CanonicalField(..) => NodeKind::CanonicalField,
            Self::CanonicalEntity(_) => NodeKind::CanonicalEntity,
            Self::Consumer(_) => NodeKind::Consumer,
        }
    }

    /// `connector:<id>`, `entity:<connector>:<entity>`, `field:<connector>:<entity>:<field>`,
    /// `canonical_field:<entity>.<field>`, `canonical_entity:<entity>`, `consumer:<entity>`.
    pub fn encode(&self) -> String {
        match self {
            Self::Connector(c) => format!("connector:{c}"),
            Self::Entity(c, e) => format!("entity:{c}:{e}"),
            Self::Field(c, e, f) => format!("field:{c}:{e}:{f}"),
            Self::CanonicalField(e, f) => format!("canonical_field:{e}.{f}"),
            Self::CanonicalEntity(e) => format!("canonical_entity:{e}"),
            Self::Consumer(e) => format!("consumer:{e}"),
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (kind, rest) = raw.split_once(':')?;
        Some(match kind {
            "connector" => Self::Connector(Uuid::parse_str(rest).ok()?),
            "entity" => {
                let (c, e) = rest.split_once(':')?;
                Self::Entity(Uuid::parse_str(c).ok()?, e.to_owned())
            }
            "field" => {
                let (c, rest) = rest.split_once(':')?;
                let (e, f) = rest.split_once(':')?;
                Self::Field(Uuid::parse_str(c).ok()?, e.to_owned(), f.to_owned())
            }
            "canonical_field" => {
                let (e, f) = rest.split_once('.')?;
                Self::CanonicalField(e.to_owned(), f.to_owned())
            }
            "canonical_entity" => Self::CanonicalEntity(rest.to_owned()),
            "consumer" => Self::Consumer(rest.to_owned()),
            _ => return None,
        })
    }

    pub fn name(&self) -> String {
        match self {
            Self::Connector(c) => c.to_string(),
            Self::Entity(_, e) => e.clone(),
            Self::Field(_, _, f) => f.clone(),
            Self::CanonicalField(e, f) => format!("{e}.{f}"),
            Self::CanonicalEntity(e) => e.clone(),
            Self::Consumer(e) => format!("{e} records"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub source: NodeId,
    pub target: NodeId,
    pub weight: f64,
    pub mapping_id: Option<Uuid>,
}

#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Vec<(NodeId, String)>,
    pub edges: Vec<Edge>,
    /// True when the node cap stopped the expansion.
    pub truncated: bool,
}

/// Most nodes one graph holds.
pub const MAX_NODES: usize = 2000;

async fn rows(
    tx: &ScopedTx<'_>,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    tx.conn()
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
}

fn text(r: &sea_orm::QueryResult, i: usize) -> Result<String, DbErr> {
    r.try_get_by_index::<String>(i)
}

/// The node's neighbours one step in `downstream` (or upstream) direction, with edge weights.
async fn step(tx: &ScopedTx<'_>, node: &NodeId, downstream: bool) -> Result<Vec<Edge>, DbErr> {
    let t = tx.tenant_id();
    let mut out = Vec::new();
    let mut push = |source: NodeId, target: NodeId, weight: f64, mapping_id: Option<Uuid>| {
        out.push(Edge {
            source,
            target,
            weight,
            mapping_id,
        });
    };
    match (node, downstream) {
        (NodeId::Connector(c), true) => {
            for r in rows(tx, "SELECT s.source_entity, count(f.id) FROM source_schemas s
                               LEFT JOIN source_fields f ON f.source_schema_id = s.id
                               WHERE s.tenant_id = $1 AND s.connector_id = $2 AND s.is_current
                               GROUP BY s.source_entity ORDER BY 1", vec![t.into(), (*c).into()]).await? {
                let e = text(&r, 0)?;
                let n: i64 = r.try_get_by_index(1)?;
                push(node.clone(), NodeId::Entity(*c, e), n.max(1) as f64, None);
            }
        }
        (NodeId::Entity(c, e), true) => {
            for r in rows(tx, "SELECT f.name FROM source_fields f JOIN source_schemas s ON s.id = f.source_schema_id AND s.is_current
                               WHERE f.tenant_id = $1 AND f.connector_id = $2 AND f.source_entity = $3 ORDER BY f.position",
                          vec![t.into(), (*c).into(), e.clone().into()]).await? {
                push(node.clone(), NodeId::Field(*c, e.clone(), text(&r, 0)?), 1.0, None);
            }
        }
        (NodeId::Entity(c, _), false) => push(NodeId::Connector(*c), node.clone(), 1.0, None),
        (NodeId::Field(c, e, _), false) => push(NodeId::Entity(*c, e.clone()), node.clone(), 1.0, None),
        (NodeId::Field(c, e, f), true) => {
            for r in rows(tx, "SELECT m.canonical_entity, m.canonical_field, m.mapping_id,
                                      coalesce(s.values_ok + s.values_failed, 0)
                               FROM mappings m JOIN connectors c ON c.tenant_id = m.tenant_id AND c.name = m.source_system
                               LEFT JOIN mapping_stats s ON s.tenant_id = m.tenant_id AND s.mapping_id = m.mapping_id
                               WHERE m.tenant_id = $1 AND c.id = $2 AND m.source_entity = $3
                                 AND m.source_field_key = lower($4) AND m.is_active",
                          vec![t.into(), (*c).into(), e.clone().into(), f.clone().into()]).await? {
                let w: i64 = r.try_get_by_index(3)?;
                push(node.clone(), NodeId::CanonicalField(text(&r, 0)?, text(&r, 1)?), w.max(1) as f64, r.try_get_by_index(2).ok());
            }
        }
        (NodeId::CanonicalField(ce, cf), false) => {
            for r in rows(tx, "SELECT c.id, m.source_entity, m.source_field, m.mapping_id,
                                      coalesce(s.values_ok + s.values_failed, 0)
                               FROM mappings m JOIN connectors c ON c.tenant_id = m.tenant_id AND c.name = m.source_system
                               LEFT JOIN mapping_stats s ON s.tenant_id = m.tenant_id AND s.mapping_id = m.mapping_id
                               WHERE m.tenant_id = $1 AND m.canonical_entity = $2 AND m.canonical_field = $3 AND m.is_active
                               ORDER BY 2, 3 LIMIT 1000",
                          vec![t.into(), ce.clone().into(), cf.clone().into()]).await? {
                let c: Uuid = r.try_get_by_index(0)?;
                let w: i64 = r.try_get_by_index(4)?;
                push(NodeId::Field(c, text(&r, 1)?, text(&r, 2)?), node.clone(), w.max(1) as f64, r.try_get_by_index(3).ok());
            }
        }
        (NodeId::CanonicalField(ce, _), true) => push(node.clone(), NodeId::CanonicalEntity(ce.clone()), 1.0, None),
        (NodeId::CanonicalEntity(ce), false) => {
            for r in rows(tx, "SELECT canonical_field, count(*) FROM mappings
                               WHERE tenant_id = $1 AND canonical_entity = $2 AND is_active GROUP BY 1 ORDER BY 1",
                          vec![t.into(), ce.clone().into()]).await? {
                let n: i64 = r.try_get_by_index(1)?;
                push(NodeId::CanonicalField(ce.clone(), text(&r, 0)?), node.clone(), n as f64, None);
            }
        }
        (NodeId::CanonicalEntity(ce), true) => {
            let n = crate::tenancy::count(tx,
                "SELECT count(*) FROM canonical_records WHERE tenant_id = $1 AND entity = $2".to_owned(),
                vec![t.into(), ce.clone().into()]).await?;
            push(node.clone(), NodeId::Consumer(ce.clone()), n.max(1) as f64, None);
        }
        (NodeId::Consumer(ce), false) => push(NodeId::CanonicalEntity(ce.clone()), node.clone(), 1.0, None),
        (NodeId::Connector(_), false) | (NodeId::Consumer(_), true) => {}
    }
    Ok(out)
}

/// Breadth-first from `root`, `depth` steps in `direction`.
pub async fn expand(
    tx: &ScopedTx<'_>,
    root: NodeId,
    direction: Direction,
    depth: u32,
) -> Result<Graph, DbErr> {
    let mut graph = Graph::default();
    let mut seen: HashSet<NodeId> = HashSet::from([root.clone()]);
    let mut edges_seen: HashSet<(NodeId, NodeId)> = HashSet::new();
    graph.nodes.push((root.clone(), root.name()));
    // Each side expands away from the root only, so BOTH is the union of two walks.
    let walks: &[bool] = match direction {
        Direction::Downstream => &[true],
        Direction::Upstream => &[false],
        Direction::Both => &[true, false],
    };
    for &downstream in walks {
        let mut frontier: VecDeque<(NodeId, u32)> = VecDeque::from([(root.clone(), 0)]);
        while let Some((node, d)) = frontier.pop_front() {
            if d >= depth {
                continue;
            }
            for edge in step(tx, &node, downstream).await? {
                let next = if downstream {
                    edge.target.clone()
                } else {
                    edge.source.clone()
                };
                if edges_seen.insert((edge.source.clone(), edge.target.clone())) {
                    if seen.insert(next.clone()) {
                        if graph.nodes.len() >= MAX_NODES {
                            graph.truncated = true;
                            return Ok(graph);
                        }
                        graph.nodes.push((next.clone(), next.name()));
                        frontier.push_back((next, d + 1));
                    }
                    graph.edges.push(edge);
                }
            }
        }
    }
    Ok(graph)
}

/// Connector names for the connector nodes of a graph.
pub async fn connector_names(
    tx: &ScopedTx<'_>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, String>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut out = HashMap::new();
    for r in rows(
        tx,
        "SELECT id, name FROM connectors WHERE tenant_id = $1 AND id = ANY($2)",
        vec![tx.tenant_id().into(), ids.to_vec().into()],
    )
    .await?
    {
        out.insert(r.try_get_by_index::<Uuid>(0)?, text(&r, 1)?);
    }
    Ok(out)
}

/// What depends on one source field: the canonical fields its active mappings feed, and how
/// many canonical records hold a value it produced.
pub async fn impact(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    entity: &str,
    field: &str,
) -> Result<(Vec<String>, u64), DbErr> {
    let targets: Vec<String> = step(
        tx,
        &NodeId::Field(connector, entity.to_owned(), field.to_owned()),
        true,
    )
    .await?
    .into_iter()
    .filter_map(|e| match e.target {
        NodeId::CanonicalField(ce, cf) => Some(format!("{ce}.{cf}")),
        _ => None,
    })
    .collect();
    let records = crate::tenancy::count(
        tx,
        "SELECT count(*) FROM canonical_records r WHERE r.tenant_id = $1 AND r.connector_id = $2 AND r.source_entity = $3
           AND EXISTS (SELECT 1 FROM jsonb_each(r.lineage) e WHERE e.value ->> 'sourceField' = $4)".to_owned(),
        vec![tx.tenant_id().into(), connector.into(), entity.into(), field.into()],
    )
    .await?;
    Ok((targets, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip() {
        let c = Uuid::now_v7();
        for n in [
            NodeId::Connector(c),
            NodeId::Entity(c, "accounts".into()),
            NodeId::Field(c, "accounts".into(), "Annual Revenue".into()),
            NodeId::CanonicalField("account".into(), "annual_revenue".into()),
            NodeId::CanonicalEntity("account".into()),
            NodeId::Consumer("account".into()),
        ] {
            assert_eq!(NodeId::parse(&n.encode()), Some(n));
        }
        assert_eq!(NodeId::parse("nonsense"), None);
        assert_eq!(NodeId::parse("connector:not-a-uuid"), None);
    }
}

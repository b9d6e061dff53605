//! Qdrant backend: one collection, tenants separated by a payload filter on `tenant_id`
//! (indexed as the tenant key), the baseline namespace being the nil tenant as in pgvector.
//!
//! Qdrant has no row-level security, so isolation rests on the filter every call builds from
//! the scoped transaction's tenant; the transaction itself is only used for that tenant id.
//! Writes are not part of the Postgres transaction: ids are derived from the record's
//! identity, so a retried write overwrites instead of duplicating.
use std::collections::HashMap;
use std::time::Duration;

use qdrant_client::qdrant::value::Kind;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
    Distance, FieldType, Filter, KeywordIndexParamsBuilder, PointStruct, QueryBatchPointsBuilder,
    QueryPointsBuilder, ScoredPoint, ScrollPointsBuilder, UpsertPointsBuilder, Value,
    VectorParamsBuilder,
};
use qdrant_client::{Payload, Qdrant};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::{VectorError, VectorHit, VectorKind, VectorRecord, BASELINE_TENANT};
use crate::config::QdrantSettings;
use crate::infra::embed::Vector;
use crate::tenancy::ScopedTx;

/// Namespace for deriving point ids from record identities (UUID v5).
const POINT_NAMESPACE: Uuid = Uuid::from_u128(0x6a1c_93f2_5d0e_4b7a_9c61_0f3e_2b84_d517);
/// Upsert batch size: keeps gRPC messages far below the default 64 MiB limit.
const UPSERT_CHUNK: usize = 256;
/// Page size when listing learned targets.
const SCROLL_PAGE: u32 = 1024;

pub struct QdrantStore {
    client: Qdrant,
    collection: String,
}

impl QdrantStore {
    /// Connects and makes sure the collection and its payload indexes exist.
    pub async fn connect(settings: &QdrantSettings, dimension: u64) -> Result<Self, VectorError> {
        let api_key = settings.api_key.expose_secret();
        let client = Qdrant::from_url(&settings.url)
            .api_key((!api_key.is_empty()).then(|| api_key.to_owned()))
            .timeout(Duration::from_millis(settings.timeout_ms))
            .skip_compatibility_check()
            .build()?;
        let store = Self {
            client,
            collection: settings.collection.clone(),
        };
        store.ensure_collection(dimension).await?;
        Ok(store)
    }

    async fn ensure_collection(&self, dimension: u64) -> Result<(), VectorError> {
        if self.client.collection_exists(&self.collection).await? {
            return Ok(());
        }
        self.client
            .create_collection(
                CreateCollectionBuilder::new(&self.collection)
                    .vectors_config(VectorParamsBuilder::new(dimension, Distance::Cosine)),
            )
            .await?;
        // The tenant key lets Qdrant co-locate and pre-filter each tenant's points.
        self.client
            .create_field_index(
                CreateFieldIndexCollectionBuilder::new(
                    &self.collection,
                    "tenant_id",
                    FieldType::Keyword,
                )
                .field_index_params(KeywordIndexParamsBuilder::default().is_tenant(true)),
            )
            .await?;
        for field in ["kind", "content"] {
            self.client
                .create_field_index(CreateFieldIndexCollectionBuilder::new(
                    &self.collection,
                    field,
                    FieldType::Keyword,
                ))
                .await?;
        }
        Ok(())
    }

    pub async fn upsert(
        &self,
        tx: &ScopedTx<'_>,
        model: &str,
        records: &[VectorRecord],
    ) -> Result<u64, VectorError> {
        let tenant = tx.tenant_id();
        let mut written = 0;
        for chunk in records.chunks(UPSERT_CHUNK) {
            let points: Vec<PointStruct> = chunk
                .iter()
                .map(|r| {
                    PointStruct::new(
                        point_id(tenant, model, r),
                        r.vector.to_vec(),
                        payload(tenant, model, r),
                    )
                })
                .collect();
            written += points.len() as u64;
            self.client
                .upsert_points(UpsertPointsBuilder::new(&self.collection, points).wait(true))
                .await?;
        }
        Ok(written)
    }

    pub async fn search_many(
        &self,
        tx: &ScopedTx<'_>,
        queries: &[Vector],
        kinds: &[VectorKind],
        limit: u64,
    ) -> Result<Vec<Vec<VectorHit>>, VectorError> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let filter = search_filter(tx.tenant_id(), kinds);
        let batch: Vec<_> = queries
            .iter()
            .map(|q| {
                QueryPointsBuilder::new(&self.collection)
                    .query(q.to_vec())
                    .filter(filter.clone())
                    .limit(limit)
                    .with_payload(true)
                    .build()
            })
            .collect();
        let response = self
            .client
            .query_batch(QueryBatchPointsBuilder::new(&self.collection, batch))
            .await?;
        let mut out: Vec<Vec<VectorHit>> = response
            .result
            .into_iter()
            .map(|list| list.result.into_iter().filter_map(to_hit).collect())
            .collect();
        out.resize(queries.len(), Vec::new());
        Ok(out)
    }

    pub async fn learned_targets(
        &self,
        tx: &ScopedTx<'_>,
        contents: &[String],
    ) -> Result<HashMap<String, Vec<(String, String)>>, VectorError> {
        let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
        if contents.is_empty() {
            return Ok(out);
        }
        let filter = Filter::must([
            Condition::matches("tenant_id", tx.tenant_id().to_string()),
            Condition::matches("kind", VectorKind::Mapping.as_str().to_owned()),
            Condition::matches("content", contents.to_vec()),
        ]);
        let mut offset = None;
        loop {
            let mut request = ScrollPointsBuilder::new(&self.collection)
                .filter(filter.clone())
                .limit(SCROLL_PAGE)
                .with_payload(true);
            if let Some(offset) = offset.take() {
                request = request.offset(offset);
            }
            let page = self.client.scroll(request).await?;
            for point in page.result {
                let p = &point.payload;
                if let (Some(content), Some(entity), Some(field)) = (
                    text(p, "content"),
                    text(p, "canonical_entity"),
                    text(p, "canonical_field"),
                ) {
                    let targets = out.entry(content).or_default();
                    let target = (entity, field);
                    if !targets.contains(&target) {
                        targets.push(target);
                    }
                }
            }
            match page.next_page_offset {
                Some(next) => offset = Some(next),
                None => break,
            }
        }
        Ok(out)
    }

    pub async fn count(&self, tx: &ScopedTx<'_>, kind: VectorKind) -> Result<u64, VectorError> {
        self.count_where(Filter::must([
            Condition::matches("tenant_id", tx.tenant_id().to_string()),
            Condition::matches("kind", kind.as_str().to_owned()),
        ]))
        .await
    }

    pub async fn knowledge_generation(&self, tx: &ScopedTx<'_>) -> Result<u64, VectorError> {
        self.count_where(search_filter(
            tx.tenant_id(),
            &[VectorKind::Mapping, VectorKind::CanonicalField],
        ))
        .await
    }

    async fn count_where(&self, filter: Filter) -> Result<u64, VectorError> {
        let response = self
            .client
            .count(
                CountPointsBuilder::new(&self.collection)
                    .filter(filter)
                    .exact(true),
            )
            .await?;
        Ok(response.result.map_or(0, |r| r.count))
    }
}

/// The tenant's namespace plus the baseline, restricted to `kinds`.
fn search_filter(tenant: Uuid, kinds: &[VectorKind]) -> Filter {
    Filter::must([
        Condition::matches(
            "tenant_id",
            vec![tenant.to_string(), BASELINE_TENANT.to_string()],
        ),
        Condition::matches(
            "kind",
            kinds
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect::<Vec<_>>(),
        ),
    ])
}

/// Same identity as pgvector's unique index: tenant, kind, targets, source, text and model.
fn point_id(tenant: Uuid, model: &str, r: &VectorRecord) -> String {
    let (ce, cf) = r
        .canonical
        .as_ref()
        .map_or(("", ""), |(e, f)| (e.as_str(), f.as_str()));
    let (ss, se, sf) = r.source.as_ref().map_or(("", "", ""), |(s, e, f)| {
        (s.as_str(), e.as_str(), f.as_str())
    });
    let mapping = r.mapping_id.map(|id| id.to_string()).unwrap_or_default();
    // Unit separators keep ("a", "bc") and ("ab", "c") apart.
    let identity = [
        tenant.to_string().as_str(),
        r.kind.as_str(),
        &mapping,
        ce,
        cf,
        ss,
        se,
        sf,
        &r.content,
        model,
    ]
    .join("\u{1f}");
    Uuid::new_v5(&POINT_NAMESPACE, identity.as_bytes()).to_string()
}

fn payload(tenant: Uuid, model: &str, r: &VectorRecord) -> Payload {
    let mut p = Payload::new();
    p.insert("tenant_id", tenant.to_string());
    p.insert("kind", r.kind.as_str());
    p.insert("content", r.content.clone());
    p.insert("model", model);
    if let Some(id) = r.mapping_id {
        p.insert("mapping_id", id.to_string());
    }
    if let Some((entity, field)) = &r.canonical {
        p.insert("canonical_entity", entity.clone());
        p.insert("canonical_field", field.clone());
    }
    if let Some((system, entity, field)) = &r.source {
        p.insert("source_system", system.clone());
        p.insert("source_entity", entity.clone());
        p.insert("source_field", field.clone());
    }
    p
}

fn text(payload: &HashMap<String, Value>, key: &str) -> Option<String> {
    match payload.get(key)?.kind.as_ref()? {
        Kind::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn to_hit(point: ScoredPoint) -> Option<VectorHit> {
    let p = &point.payload;
    let tenant: Uuid = text(p, "tenant_id")?.parse().ok()?;
    let source = match (
        text(p, "source_system"),
        text(p, "source_entity"),
        text(p, "source_field"),
    ) {
        (Some(s), Some(e), Some(f)) => Some((s, e, f)),
        _ => None,
    };
    Some(VectorHit {
        kind: text(p, "kind")?.parse().ok()?,
        baseline: tenant == BASELINE_TENANT,
        mapping_id: text(p, "mapping_id").and_then(|id| id.parse().ok()),
        canonical: text(p, "canonical_entity").zip(text(p, "canonical_field")),
        source,
        content: text(p, "content")?,
        score: point.score,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(content: &str, canonical: Option<(&str, &str)>) -> VectorRecord {
        VectorRecord {
            kind: VectorKind::Mapping,
            mapping_id: None,
            canonical: canonical.map(|(e, f)| (e.to_owned(), f.to_owned())),
            source: None,
            content: content.to_owned(),
            vector: vec![0.0_f32; 4].into(),
        }
    }

    #[test]
    fn point_ids_follow_the_identity_and_separate_tenants() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let r = record("annual revenue", Some(("account", "annual_revenue")));
        assert_eq!(point_id(a, "m", &r), point_id(a, "m", &r));
        assert_ne!(point_id(a, "m", &r), point_id(b, "m", &r));
        assert_ne!(point_id(a, "m", &r), point_id(a, "other-model", &r));
        let other_target = record("annual revenue", Some(("lead", "annual_revenue")));
        assert_ne!(point_id(a, "m", &r), point_id(a, "m", &other_target));
        // Field boundaries matter: ("ab","c") is not ("a","bc").
        let x = record("c", Some(("a", "b")));
        let y = record("c", Some(("a", "bc")));
        assert_ne!(point_id(a, "m", &x), point_id(a, "m", &y));
    }

    #[test]
    fn payload_round_trips_into_a_hit() {
        let tenant = Uuid::from_u128(7);
        let mut r = record("amount", Some(("opportunity", "amount")));
        r.source = Some(("hubspot".into(), "deals".into(), "amount".into()));
        let point = ScoredPoint {
            payload: payload(tenant, "m", &r).into(),
            score: 0.9,
            ..Default::default()
        };
        let hit = to_hit(point).expect("a hit");
        assert_eq!(hit.kind, VectorKind::Mapping);
        assert!(!hit.baseline);
        assert_eq!(hit.canonical, Some(("opportunity".into(), "amount".into())));
        assert_eq!(
            hit.source,
            Some(("hubspot".into(), "deals".into(), "amount".into()))
        );
        assert_eq!(hit.content, "amount");
        assert!((hit.score - 0.9).abs() < 1e-6);
    }

    #[test]
    fn the_search_filter_names_only_the_tenant_and_the_baseline() {
        let tenant = Uuid::from_u128(9);
        let filter = search_filter(tenant, &[VectorKind::Mapping, VectorKind::CanonicalField]);
        let rendered = format!("{filter:?}");
        assert!(rendered.contains(&tenant.to_string()));
        assert!(rendered.contains(&BASELINE_TENANT.to_string()));
        assert!(rendered.contains("MAPPING") && rendered.contains("CANONICAL_FIELD"));
        assert!(!rendered.contains("SOURCE_FIELD"));
    }
}

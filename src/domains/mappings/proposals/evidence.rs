//! Gathering evidence for fields: the exact-match set of a source (cached in Redis), the
//! nearest knowledge by vector (cached per process while the tenant's knowledge is unchanged),
//! the tenant's canonical catalogue, and an LLM provider for what the evidence cannot place.
use std::collections::HashMap;
use std::sync::Arc;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::input::QueryTexts;
use super::policy::{self, Bands};
use super::ProposalEngine;
use super::{FieldInput, ALTERNATIVES};
use crate::domains::mappings::model::MappingMethod;
use crate::domains::mappings::scoring::{self, Candidate, FieldEvidence, Neighbour};
use crate::domains::mappings::{llm, names, store};
use crate::domains::ontology::service as ontology;
use crate::error::AppResult;
use crate::infra::embed::Vector;
use crate::infra::vector::{VectorHit, VectorKind};
use crate::tenancy::ScopedTx;

const NEIGHBOURS: u64 = 12;

/// Every field's candidates, best first: exact evidence (the tenant's approved names, the
/// built-in aliases), then for the fields it does not settle the nearest knowledge by vector.
pub(super) async fn rank(
    engine: &ProposalEngine,
    read: &ScopedTx<'_>,
    entity: &str,
    fields: &[FieldInput],
    texts: &QueryTexts,
    vectors: &[Vector],
    bands: &Bands,
) -> AppResult<Vec<Vec<Candidate>>> {
    let hint = engine.knowledge.entity_for(entity).map(str::to_owned);
    // What the tenant has approved under exactly these names, from any source.
    let learned_names = engine
        .vectors
        .learned_targets(read, &texts.distinct)
        .await?;
    let learned_for = |i: usize| {
        learned_names
            .get(texts.of_field(i))
            .cloned()
            .unwrap_or_default()
    };
    let evidence =
        |f: &FieldInput, learned: &[(String, String)], neighbours: &[Neighbour], limit| {
            let ev = FieldEvidence {
                name: &f.name,
                data_type: f.data_type.as_deref().unwrap_or(""),
                samples: &f.samples,
                entity_hint: hint.as_deref(),
                learned_exact: learned,
                neighbours,
            };
            scoring::rank(&engine.knowledge, &ev, limit)
        };
    // Exact evidence first: a field it settles needs no vector search.
    let mut needs_search = vec![false; texts.distinct.len()];
    for (i, f) in fields.iter().enumerate() {
        let exact_only = evidence(f, &learned_for(i), &[], 2);
        if !policy::settled(&exact_only, bands) {
            needs_search[texts.text_of[i]] = true;
        }
    }
    let hits = neighbours_of(engine, read, &texts.distinct, vectors, &needs_search).await?;
    let mut ranked = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let mut learned_exact = learned_for(i);
        let mut neighbours = Vec::new();
        for h in hits[texts.text_of[i]].iter() {
            let Some((e, fld)) = h.canonical.clone() else {
                continue;
            };
            let learned = h.kind == VectorKind::Mapping && !h.baseline;
            if learned && h.score >= 0.98 {
                learned_exact.push((e.clone(), fld.clone()));
            }
            neighbours.push(Neighbour {
                entity: e,
                field: fld,
                score: f64::from(h.score),
                learned,
            });
        }
        ranked.push(evidence(f, &learned_exact, &neighbours, ALTERNATIVES + 1));
    }
    Ok(ranked)
}

/// The exact-match set for one source system and entity: compact source name → target.
#[derive(Serialize, Deserialize, Default)]
pub(super) struct ExactSet {
    pub by_field: HashMap<String, (Uuid, String, String)>,
}

fn exact_cache_key(tenant: Uuid, system: &str, entity: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(format!("{system}\0{entity}").as_bytes()));
    format!("mappings:exact:{tenant}:{digest}")
}

pub(super) async fn exact_set(
    engine: &ProposalEngine,
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
) -> AppResult<ExactSet> {
    let key = exact_cache_key(tx.tenant_id(), system, entity);
    let mut redis = engine.redis.clone();
    match redis.get::<_, Option<String>>(&key).await {
        Ok(Some(raw)) => {
            if let Ok(set) = serde_json::from_str(&raw) {
                return Ok(set);
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "exact-match cache unavailable; reading Postgres"),
    }
    let mut set = ExactSet::default();
    for m in store::active_for_source(tx, system, entity).await? {
        set.by_field.insert(
            names::compact(&m.source_field),
            (m.mapping_id, m.canonical_entity, m.canonical_field),
        );
    }
    if let Ok(raw) = serde_json::to_string(&set) {
        let ttl = engine.settings.proposals.exact_cache_ttl_secs;
        if let Err(e) = redis.set_ex::<_, _, ()>(&key, raw, ttl).await {
            tracing::warn!(error = %e, "exact-match cache write failed");
        }
    }
    Ok(set)
}

/// Mappings changed for this source: the cached exact-match set is stale.
pub(crate) async fn invalidate_exact(
    engine: &ProposalEngine,
    tenant: Uuid,
    system: &str,
    entity: &str,
) {
    let mut redis = engine.redis.clone();
    if let Err(e) = redis
        .del::<_, ()>(exact_cache_key(tenant, system, entity))
        .await
    {
        tracing::warn!(error = %e, "exact-match cache invalidation failed");
    }
}

/// Nearest knowledge for each distinct text that needs it (empty lists for the others): from
/// the neighbour cache while the tenant's knowledge is unchanged, else one batched search.
pub(super) async fn neighbours_of(
    engine: &ProposalEngine,
    read: &ScopedTx<'_>,
    texts: &[String],
    vectors: &[Vector],
    needed: &[bool],
) -> AppResult<Vec<Arc<Vec<VectorHit>>>> {
    let generation = engine.vectors.knowledge_generation(read).await?;
    let tenant = read.tenant_id();
    let wanted: Vec<usize> = (0..texts.len()).filter(|&i| needed[i]).collect();
    let cached = engine.neighbours.get_many(
        tenant,
        generation,
        &wanted
            .iter()
            .map(|&i| texts[i].as_str())
            .collect::<Vec<_>>(),
    );
    let mut hits: Vec<Arc<Vec<VectorHit>>> = vec![Arc::default(); texts.len()];
    let mut missing = Vec::new();
    for (&i, c) in wanted.iter().zip(cached) {
        match c {
            Some(list) => hits[i] = list,
            None => missing.push(i),
        }
    }
    if missing.is_empty() {
        return Ok(hits);
    }
    let queries: Vec<Vector> = missing.iter().map(|&i| vectors[i].clone()).collect();
    let found = engine
        .vectors
        .search_many(
            read,
            &queries,
            &[VectorKind::Mapping, VectorKind::CanonicalField],
            NEIGHBOURS,
        )
        .await?;
    let mut fresh = Vec::with_capacity(missing.len());
    for (i, list) in missing.into_iter().zip(found) {
        fresh.push((texts[i].clone(), list.clone()));
        hits[i] = Arc::new(list);
    }
    engine.neighbours.put_many(tenant, generation, fresh);
    Ok(hits)
}

/// For fields the evidence leaves below the review band, ask the LLM provider (if one is
/// configured), a few at a time; its validated answer becomes the top candidate, method LLM,
/// capped below auto-apply so a person confirms it.
pub(super) async fn ask_llm(
    engine: &ProposalEngine,
    system: &str,
    entity: &str,
    fields: &[FieldInput],
    ranked: &mut [Vec<Candidate>],
) {
    use futures_util::StreamExt;
    let llm = &engine.llm;
    let llm::LlmProvider::OpenAiCompatible(provider) = llm else {
        return;
    };
    let threshold = engine.settings.proposals.review_threshold;
    let mut asked = std::collections::HashSet::new();
    let wanted: Vec<usize> = (0..fields.len())
        .filter(|&i| ranked[i].first().is_none_or(|c| c.confidence < threshold))
        .filter(|&i| asked.insert(fields[i].name.to_lowercase()))
        .take(provider.max_fields)
        .collect();
    let answers: Vec<(usize, Option<llm::Suggestion>)> = futures_util::stream::iter(wanted)
        .map(|i| async move {
            let f = &fields[i];
            let question = llm::FieldQuestion {
                source_system: system,
                source_entity: entity,
                name: &f.name,
                data_type: f.data_type.as_deref(),
                description: f.description.as_deref(),
                samples: &f.samples,
            };
            (i, llm.suggest(&engine.knowledge, &question).await)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    for (i, answer) in answers {
        let Some(s) = answer else { continue };
        if ranked[i]
            .first()
            .is_some_and(|c| c.confidence >= s.confidence)
        {
            continue;
        }
        ranked[i].retain(|c| !(c.entity == s.entity && c.field == s.field));
        ranked[i].insert(
            0,
            Candidate {
                entity: s.entity,
                field: s.field,
                confidence: s.confidence,
                method: MappingMethod::Llm,
            },
        );
    }
}

/// The tenant's canonical fields by (entity, field), resolved once per call.
pub(super) type Catalogue = HashMap<(String, String), Uuid>;

pub(super) async fn catalogue(tx: &ScopedTx<'_>) -> AppResult<Catalogue> {
    let ontology = ontology::load_active(tx).await?;
    Ok(ontology
        .entities
        .into_iter()
        .flat_map(|e| {
            e.fields
                .into_iter()
                .map(move |f| ((f.entity, f.name), f.id))
        })
        .collect())
}

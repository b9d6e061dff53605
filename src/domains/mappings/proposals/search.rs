//! Natural-language search over a tenant's source fields, mappings and canonical fields, and
//! the baseline knowledge every tenant starts from.
use uuid::Uuid;

use super::input::clean_text;
use super::ProposalEngine;
use crate::domains::auth::scope::TenantScope;
use crate::error::{AppError, AppResult};
use crate::infra::vector::{VectorKind, VectorRecord};
use crate::tenancy::ScopedTx;

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub kind: VectorKind,
    pub score: f64,
    pub baseline: bool,
    pub text: String,
    pub canonical: Option<(String, String)>,
    pub source: Option<(String, String, String)>,
    pub mapping_id: Option<Uuid>,
}

/// Natural-language search over the tenant's source fields, mappings and canonical fields.
pub async fn semantic_search(
    engine: &ProposalEngine,
    scope: &TenantScope,
    query: &str,
    first: usize,
) -> AppResult<Vec<SearchHit>> {
    let query = clean_text("query", query, 500)?;
    let vector = engine
        .embedder
        .embed(&[search_terms(&query)])
        .await
        .map_err(AppError::internal)?;
    let tx = ScopedTx::begin(&engine.db, scope).await?;
    let kinds = [
        VectorKind::SourceField,
        VectorKind::Mapping,
        VectorKind::CanonicalField,
    ];
    let hits = engine
        .vectors
        .search(&tx, &vector[0], &kinds, (first * 4) as u64)
        .await?;
    // One hit per thing found: the best-scoring text for it.
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for h in hits {
        let identity = format!("{:?}|{:?}|{:?}", h.kind, h.canonical, h.source);
        if seen.insert(identity) {
            out.push(SearchHit {
                kind: h.kind,
                score: f64::from(h.score),
                baseline: h.baseline,
                text: h.content,
                canonical: h.canonical,
                source: h.source,
                mapping_id: h.mapping_id,
            });
        }
        if out.len() >= first {
            break;
        }
    }
    Ok(out)
}

/// Embeds the canonical knowledge into the baseline namespace when it is missing or has
/// grown (idempotent; concurrent starts are harmless).
pub async fn seed_baseline(engine: &ProposalEngine) -> AppResult<u64> {
    let scope = crate::domains::auth::service::baseline_scope();
    let texts = engine.knowledge.baseline_texts();
    let tx = ScopedTx::begin(&engine.db, &scope).await?;
    let present = engine
        .vectors
        .count(&tx, VectorKind::CanonicalField)
        .await?;
    if present >= texts.len() as u64 {
        return Ok(0);
    }
    let contents: Vec<String> = texts.iter().map(|(_, _, t)| t.clone()).collect();
    let vectors = engine
        .embedder
        .embed(&contents)
        .await
        .map_err(AppError::internal)?;
    let records: Vec<VectorRecord> = texts
        .into_iter()
        .zip(vectors)
        .map(|((entity, field, content), vector)| VectorRecord {
            kind: VectorKind::CanonicalField,
            mapping_id: None,
            canonical: Some((entity, field)),
            source: None,
            content,
            vector,
        })
        .collect();
    let written = engine
        .vectors
        .upsert(&tx, engine.embedder.model_id(), &records)
        .await?;
    tx.commit().await?;
    Ok(written)
}

/// Question words ("where do we keep …") say nothing about the thing looked for.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "for", "in", "on", "to", "is", "are", "was", "be", "do", "does", "did",
    "we", "our", "us", "i", "you", "your", "where", "what", "which", "who", "how", "can", "find",
    "keep", "kept", "store", "stored", "hold", "holds", "field", "fields", "column", "columns",
    "data", "value", "values", "show", "me", "list", "please",
];

fn search_terms(query: &str) -> String {
    let words: Vec<&str> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(&w.to_lowercase().as_str()))
        .collect();
    if words.is_empty() {
        query.to_owned()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::search_terms;

    #[test]
    fn questions_are_reduced_to_their_terms() {
        assert_eq!(
            search_terms("where do we keep customer revenue"),
            "customer revenue"
        );
        assert_eq!(search_terms("the"), "the");
    }
}

//! Turns evidence about one source field into ranked, calibrated candidates. Pure: no I/O.
//!
//! Evidence, strongest first: an approved mapping of the tenant with the same name (EXACT), a
//! canonical name or alias with the same name (EXACT), nearest vectors of approved mappings
//! and canonical knowledge (RAG). Each candidate's base confidence is then scaled by what
//! else is known: whether the source entity suggests the candidate's entity, whether the
//! declared type fits, and what the sample values look like.
use std::collections::HashMap;

use super::knowledge::{FieldKnowledge, Knowledge};
use super::model::MappingMethod;
use super::names;
use super::signals::{self, Pattern};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    pub entity: String,
    pub field: String,
    pub confidence: f64,
    pub method: MappingMethod,
}

/// One vector neighbour, already resolved to its canonical target.
#[derive(Debug, Clone)]
pub struct Neighbour {
    pub entity: String,
    pub field: String,
    pub score: f64,
    /// From the tenant's own approved mappings (rather than baseline knowledge).
    pub learned: bool,
}

pub struct FieldEvidence<'a> {
    pub name: &'a str,
    pub data_type: &'a str,
    pub samples: &'a [String],
    pub entity_hint: Option<&'a str>,
    /// Targets of the tenant's approved mappings whose source name equals this one.
    pub learned_exact: &'a [(String, String)],
    pub neighbours: &'a [Neighbour],
}

const LEARNED_EXACT: f64 = 0.97;
const ALIAS_EXACT: f64 = 0.93;
/// Cosine similarity maps onto confidence linearly between these points (MiniLM scale).
const COSINE_FLOOR: f64 = 0.40;
const COSINE_CEIL: f64 = 0.95;
const RAG_MAX: f64 = 0.95;
/// Factor on a RAG candidate none of whose phrases has the source name's head word (only
/// ever lowers: agreement is already in the cosine, and calibration must not drift up).
const HEAD_MISMATCH: f64 = 0.85;
/// A name ending in a field's alias (`address 1 city`, `estimated value`) points at that field,
/// but the extra words may change its meaning: never more than the review band.
const ALIAS_SUFFIX: f64 = 0.62;
/// Candidates weaker than this are noise, not alternatives.
const MIN_CANDIDATE: f64 = 0.1;

fn rag_confidence(cosine: f64, learned: bool) -> f64 {
    let t = ((cosine - COSINE_FLOOR) / (COSINE_CEIL - COSINE_FLOOR)).clamp(0.0, 1.0);
    let base = t * RAG_MAX;
    if learned {
        (base + 0.03).min(RAG_MAX)
    } else {
        base
    }
}

fn adjust(base: f64, k: &FieldKnowledge, ev: &FieldEvidence<'_>, pattern: Option<Pattern>) -> f64 {
    let entity = match ev.entity_hint {
        Some(hint) if hint == k.entity => 1.04,
        Some(_) => 0.55,
        None => 0.88,
    };
    let typed = if ev.data_type.is_empty() {
        1.0
    } else {
        signals::type_fit(ev.data_type, &k.data_type)
    };
    let sampled = pattern.map_or(1.0, |p| signals::pattern_fit(p, &k.field, &k.data_type));
    (base * entity * typed * sampled).clamp(0.0, 0.99)
}

/// Ranked candidates, best first, at most `limit`.
pub fn rank(knowledge: &Knowledge, ev: &FieldEvidence<'_>, limit: usize) -> Vec<Candidate> {
    let pattern = signals::detect(ev.samples);
    let mut best: HashMap<(String, String), Candidate> = HashMap::new();
    let mut offer = |k: &FieldKnowledge, base: f64, method: MappingMethod| {
        let confidence = adjust(base, k, ev, pattern);
        let key = (k.entity.clone(), k.field.clone());
        match best.get_mut(&key) {
            // An exact name match stays EXACT even when vectors agree more strongly.
            Some(c) => {
                c.confidence = c.confidence.max(confidence);
            }
            None => {
                best.insert(
                    key,
                    Candidate {
                        entity: k.entity.clone(),
                        field: k.field.clone(),
                        confidence,
                        method,
                    },
                );
            }
        }
    };
    for (entity, field) in ev.learned_exact {
        if let Some(k) = knowledge.field(entity, field) {
            offer(k, LEARNED_EXACT, MappingMethod::Exact);
        }
    }
    for k in knowledge.exact(ev.name) {
        offer(k, ALIAS_EXACT, MappingMethod::Exact);
    }
    if let Some(k) = names::suffixes(ev.name)
        .iter()
        .map(|tail| knowledge.exact(tail))
        .find(|found| !found.is_empty())
    {
        for field in k {
            offer(field, ALIAS_SUFFIX, MappingMethod::Rag);
        }
    }
    // A neighbour about another thing (`address 1 city` near `billing street`) is weaker than
    // one about the same thing; only head words the canonical model uses count.
    let head = names::head(ev.name).filter(|h| knowledge.is_head(h));
    for n in ev.neighbours {
        if let Some(k) = knowledge.field(&n.entity, &n.field) {
            let head_fit = match &head {
                Some(h) if !k.phrases.iter().any(|p| names::head(p).as_ref() == Some(h)) => {
                    HEAD_MISMATCH
                }
                _ => 1.0,
            };
            let lexical = k
                .phrases
                .iter()
                .map(|p| names::similarity(ev.name, p))
                .fold(0.0, f64::max);
            let base = rag_confidence(n.score, n.learned).max(if lexical >= 0.85 {
                lexical * 0.9
            } else {
                0.0
            });
            offer(k, base * head_fit, MappingMethod::Rag);
        }
    }
    let mut ranked: Vec<Candidate> = best
        .into_values()
        .filter(|c| c.confidence >= MIN_CANDIDATE)
        .collect();
    ranked.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.entity.cmp(&b.entity))
            .then_with(|| a.field.cmp(&b.field))
    });
    ranked.truncate(limit);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>(
        name: &'a str,
        data_type: &'a str,
        samples: &'a [String],
        hint: Option<&'a str>,
        n: &'a [Neighbour],
    ) -> FieldEvidence<'a> {
        FieldEvidence {
            name,
            data_type,
            samples,
            entity_hint: hint,
            learned_exact: &[],
            neighbours: n,
        }
    }

    #[test]
    fn an_alias_in_the_hinted_entity_is_a_confident_exact_match() {
        let k = Knowledge::builtin().unwrap();
        let top = &rank(
            &k,
            &ev("annualrevenue", "number", &[], Some("account"), &[]),
            3,
        )[0];
        assert_eq!(
            (top.entity.as_str(), top.field.as_str(), top.method),
            ("account", "annual_revenue", MappingMethod::Exact)
        );
        assert!(top.confidence >= 0.85, "{}", top.confidence);
    }

    #[test]
    fn the_source_entity_decides_between_same_named_fields() {
        let k = Knowledge::builtin().unwrap();
        let top = &rank(&k, &ev("Email", "string", &[], Some("lead"), &[]), 3)[0];
        assert_eq!((top.entity.as_str(), top.field.as_str()), ("lead", "email"));
        let unhinted = rank(&k, &ev("Email", "string", &[], None, &[]), 3);
        assert!(unhinted[0].confidence < 0.85, "ambiguous without an entity");
    }

    #[test]
    fn samples_and_types_that_disagree_lower_confidence() {
        let k = Knowledge::builtin().unwrap();
        let samples = vec!["ada@example.com".to_owned(), "bob@example.com".to_owned()];
        let plain = rank(&k, &ev("phone", "string", &[], Some("contact"), &[]), 1)[0].confidence;
        let odd = rank(
            &k,
            &ev("phone", "string", &samples, Some("contact"), &[]),
            1,
        )[0]
        .confidence;
        assert!(odd < plain);
        let typed = rank(&k, &ev("created", "boolean", &[], Some("account"), &[]), 1)[0].confidence;
        assert!(typed < 0.6);
    }

    #[test]
    fn neighbours_give_rag_candidates() {
        let k = Knowledge::builtin().unwrap();
        let n = vec![Neighbour {
            entity: "account".into(),
            field: "annual_revenue".into(),
            score: 0.8,
            learned: false,
        }];
        let top = &rank(
            &k,
            &ev("yearly turnover", "number", &[], Some("account"), &n),
            3,
        )[0];
        assert_eq!(
            (top.field.as_str(), top.method),
            ("annual_revenue", MappingMethod::Rag)
        );
        assert!(
            top.confidence > 0.5 && top.confidence < 0.85,
            "{}",
            top.confidence
        );
    }

    #[test]
    fn a_name_ending_in_an_alias_is_a_review_candidate_for_it() {
        let k = Knowledge::builtin().unwrap();
        let top = &rank(
            &k,
            &ev("address1_country", "string", &[], Some("account"), &[]),
            1,
        )[0];
        assert_eq!(top.field, "billing_country");
        assert!(
            top.confidence >= 0.6 && top.confidence < 0.85,
            "{}",
            top.confidence
        );
    }

    #[test]
    fn the_head_word_breaks_near_ties_between_neighbours() {
        let k = Knowledge::builtin().unwrap();
        let n = vec![
            Neighbour {
                entity: "account".into(),
                field: "billing_street".into(),
                score: 0.74,
                learned: false,
            },
            Neighbour {
                entity: "account".into(),
                field: "billing_city".into(),
                score: 0.72,
                learned: false,
            },
        ];
        let top = &rank(
            &k,
            &ev("address1_city", "string", &[], Some("account"), &n),
            2,
        )[0];
        assert_eq!(top.field, "billing_city");
    }
}

//! What resolution learns of a tenant's data: Fellegi–Sunter's m per field and level (how often
//! records of one thing show it), estimated from the pairs it compared that a strong identifier
//! links. Hand-set values (`score::compare`) smooth the estimate, so a model learned from few
//! pairs stays near them, and give u and the prior; below a minimum of evidence none is used.
//! Fixed values cannot fit every tenant: where emails never differ between records of one
//! person, a differing email must weigh far more against a match than where people keep work
//! and private addresses apart. Pure and CPU-only.
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::score::Score;

/// Fewer compared pairs than this, or fewer than `MIN_ANCHORED` of them linked by a strong
/// identifier, teach nothing reliable: the hand-set values stay.
pub const MIN_PAIRS: f64 = 2_000.0;
const MIN_ANCHORED: f64 = 100.0;
/// A level this telling by itself (log2 m/u; odds of 2,000 to 1) anchors a pair as a match:
/// an equal email, phone or registry id, not an equal name.
const ANCHOR_WEIGHT: f64 = 11.0;
/// Evidence kept per entity; older counts shrink to make room (runs re-compare pairs).
const MAX_PAIRS: f64 = 2_000_000.0;
/// Weight of the hand-set values, in pairs, in every estimate.
const PSEUDO_PAIRS: f64 = 10.0;

/// Levels of one field: level → (m, u).
type Levels = BTreeMap<String, (f64, f64)>;

/// How many compared pairs showed each pattern of levels (one per field, `-` where a side had
/// no value), and the hand-set m and u of every level seen.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    pub fields: Vec<String>,
    pub patterns: HashMap<String, f64>,
    pub defaults: BTreeMap<String, Levels>,
}

/// A learned model: the prior (log2 odds that a compared pair is a match) and m and u per field
/// and level, with the pairs it rests on (compared, and anchored by a strong identifier).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    pub prior: f64,
    pub levels: BTreeMap<String, Levels>,
    pub pairs: f64,
    pub anchored: f64,
}

impl Model {
    pub fn get(&self, field: &str, level: &str) -> Option<(f64, f64)> {
        self.levels.get(field)?.get(level).copied()
    }
}

const MISSING: &str = "-";
const SEPARATOR: char = '|';

impl Evidence {
    pub fn new(fields: Vec<String>) -> Self {
        Self {
            fields,
            ..Self::default()
        }
    }

    pub fn total(&self) -> f64 {
        self.patterns.values().sum()
    }

    /// Counts a compared pair (its comparisons are in the order of `fields`).
    pub fn add(&mut self, score: &Score) {
        let mut pattern = String::new();
        let mut comparisons = score.comparisons.iter().peekable();
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                pattern.push(SEPARATOR);
            }
            match comparisons.next_if(|c| &c.field == field) {
                Some(c) => {
                    pattern.push_str(c.level);
                    self.defaults
                        .entry(field.clone())
                        .or_default()
                        .entry(c.level.to_owned())
                        .or_insert(c.defaults);
                }
                None => pattern.push_str(MISSING),
            }
        }
        *self.patterns.entry(pattern).or_default() += 1.0;
    }

    /// Adds `newer` (of the same fields; other evidence is dropped), shrinking the older counts
    /// when the sum would exceed what is kept.
    pub fn merge(&mut self, newer: Evidence) {
        if newer.patterns.is_empty() {
            return;
        }
        if newer.fields != self.fields {
            *self = newer;
            return;
        }
        let (old, new) = (self.total(), newer.total());
        if old + new > MAX_PAIRS && old > 0.0 {
            let keep = ((MAX_PAIRS - new).max(0.0) / old).min(1.0);
            self.patterns.values_mut().for_each(|c| *c *= keep);
            self.patterns.retain(|_, c| *c >= 0.01);
        }
        for (pattern, count) in newer.patterns {
            *self.patterns.entry(pattern).or_default() += count;
        }
        for (field, levels) in newer.defaults {
            let known = self.defaults.entry(field).or_default();
            for (level, d) in levels {
                known.entry(level).or_insert(d);
            }
        }
    }
}

/// Estimates m per field and level from the pairs another field's strong level links (an
/// equal email, phone or registry id: `ANCHOR_WEIGHT`), smoothed towards the hand-set m; u and
/// the prior stay hand-set. `None` while the evidence is too thin.
///
/// Not expectation–maximisation over all compared pairs: blocking makes a block's pairs agree
/// on names and places by construction, and EM split them along that (tried: one CRM's
/// namesakes, with no true match among them, became a "match" class of equal first names in
/// other cities, in which differing emails weighed nothing).
pub fn estimate(e: &Evidence, prior: f64) -> Option<Model> {
    let total = e.total();
    if total < MIN_PAIRS {
        return None;
    }
    let strong = |field: &str, level: &str| {
        e.defaults
            .get(field)
            .and_then(|l| l.get(level))
            .is_some_and(|(m, u)| (m / u).log2() >= ANCHOR_WEIGHT)
    };
    // Per field: level counts among pairs anchored by another field.
    let mut seen: Vec<BTreeMap<&str, f64>> = vec![BTreeMap::new(); e.fields.len()];
    let mut anchored = 0.0;
    for (pattern, count) in &e.patterns {
        let levels: Vec<&str> = pattern.split(SEPARATOR).collect();
        if levels.len() != e.fields.len() {
            continue;
        }
        let anchors: Vec<usize> = (0..levels.len())
            .filter(|&f| strong(&e.fields[f], levels[f]))
            .collect();
        if anchors.is_empty() {
            continue;
        }
        anchored += count;
        for (f, level) in levels.iter().enumerate() {
            let by_other = anchors.iter().any(|&a| a != f);
            if *level != MISSING && by_other {
                *seen[f].entry(level).or_default() += count;
            }
        }
    }
    if anchored < MIN_ANCHORED {
        return None;
    }
    let levels = e
        .fields
        .iter()
        .zip(&seen)
        .filter_map(|(field, counts)| {
            let set = e.defaults.get(field)?;
            let n: f64 = counts.values().sum();
            let m_sum: f64 = set
                .values()
                .map(|d| d.0)
                .sum::<f64>()
                .max(f64::MIN_POSITIVE);
            let levels: Levels = set
                .iter()
                .map(|(level, (m0, u0))| {
                    let c = counts.get(level.as_str()).copied().unwrap_or(0.0);
                    let m = (c + PSEUDO_PAIRS * m0 / m_sum) / (n + PSEUDO_PAIRS);
                    (level.clone(), (m.max(1e-9), *u0))
                })
                .collect();
            Some((field.clone(), levels))
        })
        .collect();
    Some(Model {
        prior,
        levels,
        pairs: total,
        anchored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::records::score::Comparison;

    /// A deterministic stream of numbers in [0, 1).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn pick(&mut self, probabilities: &[(&'static str, f64)]) -> &'static str {
            let mut x = self.next();
            for (level, p) in probabilities {
                if x < *p {
                    return level;
                }
                x -= p;
            }
            probabilities[probabilities.len() - 1].0
        }
    }

    fn pair(levels: &[(&str, &'static str, (f64, f64))]) -> Score {
        Score {
            probability: 0.0,
            weight: 0.0,
            comparisons: levels
                .iter()
                .map(|(field, level, defaults)| Comparison {
                    field: (*field).to_owned(),
                    level,
                    weight: 0.0,
                    defaults: *defaults,
                })
                .collect(),
        }
    }

    /// Pairs drawn from a known truth: 10% matches; emails of one person never differ (the
    /// hand-set m says 6% do); names agree by chance in 30% of non-matches, cities in 20%.
    fn evidence(pairs: usize) -> Evidence {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let fields = ["email", "phone", "name", "city"];
        let mut e = Evidence::new(fields.iter().map(|f| (*f).to_owned()).collect());
        for _ in 0..pairs {
            let matched = rng.next() < 0.10;
            // (field, P(exact | match), P(exact | non-match), hand-set m and u of exact)
            let truth = [
                ("email", 1.0, 0.0005, (0.94, 0.0001)),
                ("phone", 0.9, 0.0002, (0.75, 0.0002)),
                ("name", 0.9, 0.3, (0.8, 0.05)),
                ("city", 0.85, 0.2, (0.85, 0.03)),
            ];
            let mut levels = Vec::new();
            for (field, m, u, (dm, du)) in truth {
                if rng.next() < 0.4 {
                    continue; // a side without a value
                }
                let p = if matched { m } else { u };
                if rng.next() < p {
                    levels.push((field, "exact", (dm, du)));
                } else {
                    levels.push((field, "different", (1.0 - dm, 1.0 - du)));
                }
            }
            e.add(&pair(&levels));
        }
        e
    }

    #[test]
    fn recovers_the_truth_the_hand_set_values_missed() {
        let e = evidence(50_000);
        let model = estimate(&e, -7.0).expect("enough evidence");
        // Matches with an email or a phone on both sides: 5,000 × (1 - 0.4 × 0.46).
        assert!((3_800.0..4_300.0).contains(&model.anchored), "{model:?}");
        let (m_diff, _) = model.get("email", "different").unwrap();
        assert!(
            m_diff < 0.01,
            "a differing email is no match here: m = {m_diff}"
        );
        let (m_name, u_name) = model.get("name", "exact").unwrap();
        assert!((m_name - 0.9).abs() < 0.02, "m {m_name}");
        assert_eq!(u_name, 0.05, "u stays hand-set");
        assert_eq!(model.prior, -7.0);
    }

    #[test]
    fn without_pairs_a_strong_identifier_links_nothing_is_learned() {
        // No two records of one thing: namesakes of one source, in other cities.
        let mut rng = Rng(7);
        let mut e = Evidence::new(vec!["email".into(), "name".into(), "city".into()]);
        for _ in 0..20_000 {
            let namesakes = rng.next() < 0.3;
            let (name, city) = if namesakes {
                ("exact", "different")
            } else {
                (rng.pick(&[("exact", 0.05), ("different", 1.0)]), "exact")
            };
            e.add(&pair(&[
                ("email", "different", (0.06, 0.9999)),
                (
                    "name",
                    name,
                    if name == "exact" {
                        (0.8, 0.05)
                    } else {
                        (0.2, 0.95)
                    },
                ),
                (
                    "city",
                    city,
                    if city == "exact" {
                        (0.85, 0.03)
                    } else {
                        (0.15, 0.97)
                    },
                ),
            ]));
        }
        assert_eq!(estimate(&e, -7.0), None);
    }

    #[test]
    fn thin_evidence_teaches_nothing() {
        assert!(estimate(&evidence(500), -7.0).is_none());
    }

    #[test]
    fn merging_keeps_the_fields_counts_and_bounds_them() {
        let mut stored = evidence(3_000);
        stored.merge(evidence(1_000));
        assert_eq!(stored.total(), 4_000.0);
        let mut other = Evidence::new(vec!["phone".into()]);
        other.merge(evidence(10));
        assert_eq!(other, evidence(10), "evidence of other fields is dropped");
        let mut big = evidence(1_000);
        big.patterns.values_mut().for_each(|c| *c *= MAX_PAIRS);
        big.merge(evidence(1_000));
        assert!(big.total() <= MAX_PAIRS * 1.001, "{}", big.total());
    }
}

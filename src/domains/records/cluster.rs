//! Where each record of a batch belongs, given its candidates' scores and clusters and what
//! people decided. Pure: the resolver loads, this decides, the resolver writes.
use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::resolve::Thresholds;
use super::score::Score;

/// A record as the decision sees it: its values and its current unified record.
#[derive(Debug, Clone)]
pub struct RecordView {
    pub data: Map<String, Value>,
    pub unified: Option<Uuid>,
    pub rule: Option<String>,
}

/// A pair for people to review (left < right).
#[derive(Debug, Clone)]
pub struct Pair {
    pub left: Uuid,
    pub right: Uuid,
    pub score: Score,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub record: Uuid,
    pub previous: Option<Uuid>,
    pub target: Uuid,
    /// NEW (a record of its own), KEY, SCORE or MANUAL.
    pub rule: &'static str,
    pub score: Option<f64>,
    pub evidence: Value,
    /// Other unified records the record's deterministic keys join to `target`.
    pub merge: Vec<Uuid>,
    pub review: Vec<Pair>,
    /// `target` was made in this pass: its members are records of the batch, and nothing
    /// else has been read or written of it.
    pub fresh: bool,
}

/// A cluster a record links to, and why.
struct Link {
    cluster: Uuid,
    /// The record of that cluster it was compared with.
    with: Uuid,
    rule: &'static str,
    score: f64,
    weight: f64,
    evidence: Value,
}

/// Two clusters a record scores this close to (log2 of the odds) are as likely as each other:
/// namesakes, say. Neither is linked by a score; both pairs go to review.
const AMBIGUOUS_WITHIN: f64 = 4.0;

#[allow(clippy::too_many_arguments)]
pub fn decide_all(
    order: &[Uuid],
    candidates: &HashMap<Uuid, Vec<(Uuid, bool)>>,
    scores: &HashMap<(Uuid, Uuid), Score>,
    decisions: &[(Uuid, Uuid, String)],
    mut views: HashMap<Uuid, RecordView>,
    mut sizes: HashMap<Uuid, usize>,
    t: &Thresholds,
) -> Vec<Decision> {
    let mut out = Vec::with_capacity(order.len());
    let mut made: HashSet<Uuid> = HashSet::new();
    for &record in order {
        let Some(view) = views.get(&record) else {
            continue;
        };
        let previous = view.unified;
        // A person placed this record: no sync moves it.
        if view.rule.as_deref() == Some("MANUAL") {
            if let Some(target) = previous {
                out.push(Decision {
                    record,
                    previous,
                    target,
                    rule: "MANUAL",
                    score: None,
                    evidence: json!({ "kept": "a person placed this record" }),
                    merge: Vec::new(),
                    review: Vec::new(),
                    fresh: false,
                });
                continue;
            }
        }
        let cluster_of = |id: &Uuid| views.get(id).and_then(|v| v.unified);
        let mut apart: HashSet<Uuid> = HashSet::new();
        let mut forced: Vec<Uuid> = Vec::new();
        let mut decided_with: HashSet<Uuid> = HashSet::new();
        for (l, r, d) in decisions
            .iter()
            .filter(|(l, r, _)| *l == record || *r == record)
        {
            let other = if *l == record { *r } else { *l };
            decided_with.insert(other);
            if let Some(c) = cluster_of(&other) {
                if d == "APART" {
                    apart.insert(c);
                } else {
                    forced.push(c);
                }
            }
        }
        let mut links: Vec<Link> = Vec::new();
        let mut maybe: Vec<(Uuid, Uuid, Score)> = Vec::new();
        for (c, deterministic) in candidates.get(&record).into_iter().flatten() {
            let Some(cluster) = cluster_of(c) else {
                continue;
            };
            if apart.contains(&cluster) || decided_with.contains(c) {
                continue;
            }
            let score = scores.get(&(record, *c));
            if *deterministic {
                links.push(Link {
                    cluster,
                    with: *c,
                    rule: "KEY",
                    score: 1.0,
                    weight: f64::INFINITY,
                    evidence: json!({ "deterministicKey": true, "with": c,
                                      "score": score.map(Score::evidence) }),
                });
            } else if let Some(s) = score {
                if s.probability >= t.auto_link {
                    links.push(Link {
                        cluster,
                        with: *c,
                        rule: "SCORE",
                        score: s.probability,
                        weight: s.weight,
                        evidence: json!({ "with": c, "score": s.evidence() }),
                    });
                } else if s.probability >= t.review_from {
                    maybe.push((*c, cluster, s.clone()));
                }
            }
        }
        if let Some(tied) = ambiguous(&links, previous) {
            for l in links.drain(..) {
                if tied.contains(&l.cluster) {
                    if let Some(s) = scores.get(&(record, l.with)) {
                        maybe.push((l.with, l.cluster, s.clone()));
                    }
                }
            }
        }
        let forced_target = forced
            .iter()
            .find(|f| Some(**f) == previous)
            .or(forced.first())
            .copied();
        let (target, rule, score, evidence, merge) = if let Some(f) = forced_target {
            (
                f,
                "MANUAL",
                None,
                json!({ "decided": "linked by a person" }),
                Vec::new(),
            )
        } else if !links.is_empty() {
            // Staying where it is beats moving; a key beats a score; a higher score a lower.
            let best = links
                .iter()
                .filter(|l| Some(l.cluster) == previous)
                .chain(links.iter())
                .max_by(|a, b| {
                    let stay = |l: &Link| Some(l.cluster) == previous;
                    (stay(a), a.rule == "KEY", a.score)
                        .partial_cmp(&(stay(b), b.rule == "KEY", b.score))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .map(|l| (l.cluster, l.rule, l.score, l.evidence.clone()));
            let Some((cluster, rule, score, evidence)) = best else {
                continue;
            };
            let mut merge: Vec<Uuid> = links
                .iter()
                .filter(|l| l.rule == "KEY" && l.cluster != cluster)
                .map(|l| l.cluster)
                .collect();
            merge.sort();
            merge.dedup();
            (cluster, rule, Some(score), evidence, merge)
        } else {
            match previous {
                // Alone already: it stays its own record.
                Some(p) if sizes.get(&p).copied().unwrap_or(1) <= 1 => {
                    (p, "NEW", None, json!({}), Vec::new())
                }
                // Nothing links it to its record any more: it leaves (re-evaluated on change).
                _ => {
                    let id = Uuid::now_v7();
                    made.insert(id);
                    (id, "NEW", None, json!({}), Vec::new())
                }
            }
        };
        let review = maybe
            .into_iter()
            .filter(|(_, cluster, _)| *cluster != target && !merge.contains(cluster))
            .map(|(c, _, score)| Pair {
                left: record.min(c),
                right: record.max(c),
                score,
            })
            .collect();
        if previous != Some(target) {
            if let Some(p) = previous {
                if let Some(n) = sizes.get_mut(&p) {
                    *n = n.saturating_sub(1);
                }
            }
            *sizes.entry(target).or_default() += 1;
        }
        // Only a merge moves other records: without one, no pass over every loaded view (once
        // per record of the batch, it was the batch's largest loop).
        if !merge.is_empty() {
            for v in views.values_mut() {
                if v.unified.is_some_and(|u| merge.contains(&u)) {
                    v.unified = Some(target);
                }
            }
        }
        if let Some(v) = views.get_mut(&record) {
            v.unified = Some(target);
        }
        out.push(Decision {
            record,
            previous,
            target,
            rule,
            score,
            evidence,
            fresh: made.contains(&target),
            merge,
            review,
        });
    }
    out
}

/// The clusters a record's score links tie between, when no key decides and the record is in
/// none of them already (staying where it is is no ambiguity).
fn ambiguous(links: &[Link], previous: Option<Uuid>) -> Option<Vec<Uuid>> {
    if links
        .iter()
        .any(|l| l.rule != "SCORE" || Some(l.cluster) == previous)
    {
        return None;
    }
    let best = links.iter().map(|l| l.weight).fold(f64::MIN, f64::max);
    let mut tied: Vec<Uuid> = links
        .iter()
        .filter(|l| best - l.weight < AMBIGUOUS_WITHIN)
        .map(|l| l.cluster)
        .collect();
    tied.sort();
    tied.dedup();
    (tied.len() > 1).then_some(tied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::records::score::Comparison;

    fn view(unified: Option<Uuid>) -> RecordView {
        RecordView {
            data: Map::new(),
            unified,
            rule: None,
        }
    }

    fn score(p: f64) -> Score {
        Score {
            probability: p,
            weight: (p / (1.0 - p)).log2(),
            comparisons: vec![Comparison {
                field: "name".into(),
                level: "exact",
                weight: 1.0,
                defaults: (0.9, 0.1),
            }],
        }
    }

    struct Case {
        views: HashMap<Uuid, RecordView>,
        candidates: HashMap<Uuid, Vec<(Uuid, bool)>>,
        scores: HashMap<(Uuid, Uuid), Score>,
        decisions: Vec<(Uuid, Uuid, String)>,
    }

    impl Case {
        fn new() -> Self {
            Self {
                views: HashMap::new(),
                candidates: HashMap::new(),
                scores: HashMap::new(),
                decisions: Vec::new(),
            }
        }
        fn existing(&mut self, cluster: Uuid) -> Uuid {
            let id = Uuid::now_v7();
            self.views.insert(id, view(Some(cluster)));
            id
        }
        fn pair(&mut self, a: Uuid, b: Uuid, p: f64, key: bool) {
            self.candidates.entry(a).or_default().push((b, key));
            self.scores.insert((a, b), score(p));
        }
        fn run(self, order: &[Uuid]) -> Vec<Decision> {
            let sizes =
                self.views
                    .values()
                    .filter_map(|v| v.unified)
                    .fold(HashMap::new(), |mut m, u| {
                        *m.entry(u).or_default() += 1;
                        m
                    });
            decide_all(
                order,
                &self.candidates,
                &self.scores,
                &self.decisions,
                self.views,
                sizes,
                &Thresholds::default(),
            )
        }
    }

    #[test]
    fn bands_decide_link_review_or_nothing() {
        let (c1, c2, c3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut case = Case::new();
        let (a, b, c) = (case.existing(c1), case.existing(c2), case.existing(c3));
        let r = Uuid::now_v7();
        case.views.insert(r, view(None));
        case.pair(r, a, 0.97, false);
        case.pair(r, b, 0.7, false);
        case.pair(r, c, 0.2, false);
        let d = &case.run(&[r])[0];
        assert_eq!((d.target, d.rule), (c1, "SCORE"));
        assert_eq!(d.review.len(), 1);
        assert_eq!((d.review[0].left, d.review[0].right), (r.min(b), r.max(b)));
    }

    #[test]
    fn keys_link_and_merge_but_a_decision_keeps_apart() {
        let (c1, c2) = (Uuid::now_v7(), Uuid::now_v7());
        let mut case = Case::new();
        let (a, b) = (case.existing(c1), case.existing(c2));
        let r = Uuid::now_v7();
        case.views.insert(r, view(None));
        case.pair(r, a, 0.1, true);
        case.pair(r, b, 0.1, true);
        let d = &case.run(&[r])[0];
        assert_eq!(d.rule, "KEY");
        assert_eq!(d.merge.len(), 1, "the other record with the key joins");

        let mut case = Case::new();
        let (a, b) = (case.existing(c1), case.existing(c2));
        case.views.insert(r, view(None));
        case.pair(r, a, 0.99, true);
        case.pair(r, b, 0.99, false);
        case.decisions.push((r.min(a), r.max(a), "APART".into()));
        let d = &case.run(&[r])[0];
        assert_eq!(d.target, c2, "kept apart from a's record, links to b's");
        assert!(d.merge.is_empty());
    }

    #[test]
    fn records_of_one_batch_find_each_other_and_people_win() {
        let mut case = Case::new();
        let (r1, r2) = (Uuid::now_v7(), Uuid::now_v7());
        case.views.insert(r1, view(None));
        case.views.insert(r2, view(None));
        case.pair(r1, r2, 0.99, false);
        case.pair(r2, r1, 0.99, false);
        let out = case.run(&[r1, r2]);
        assert_eq!(out[0].rule, "NEW");
        assert_eq!(out[1].target, out[0].target);

        let c1 = Uuid::now_v7();
        let mut case = Case::new();
        let a = case.existing(c1);
        let mut manual = view(Some(Uuid::now_v7()));
        manual.rule = Some("MANUAL".into());
        case.views.insert(r1, manual.clone());
        case.pair(r1, a, 0.999, true);
        let d = &case.run(&[r1])[0];
        assert_eq!(Some(d.target), manual.unified, "a person's placement stays");
    }

    #[test]
    fn a_record_that_no_longer_matches_leaves_its_record() {
        let c1 = Uuid::now_v7();
        let mut case = Case::new();
        let a = case.existing(c1);
        let r = case.existing(c1);
        if let Some(v) = case.views.get_mut(&r) {
            v.rule = Some("SCORE".into());
        }
        case.pair(r, a, 0.1, false);
        let d = &case.run(&[r])[0];
        assert_ne!(d.target, c1);
        assert_eq!((d.previous, d.rule), (Some(c1), "NEW"));
    }

    #[test]
    fn namesakes_scoring_alike_go_to_review_and_a_clear_best_links() {
        let (c1, c2) = (Uuid::now_v7(), Uuid::now_v7());
        let mut case = Case::new();
        let (a, b) = (case.existing(c1), case.existing(c2));
        let r = Uuid::now_v7();
        case.views.insert(r, view(None));
        case.pair(r, a, 0.990, false);
        case.pair(r, b, 0.995, false);
        let d = &case.run(&[r])[0];
        assert_eq!(d.rule, "NEW", "neither namesake is linked");
        assert_eq!(d.review.len(), 2, "both pairs wait for a person");

        let mut case = Case::new();
        let (a, b) = (case.existing(c1), case.existing(c2));
        case.views.insert(r, view(None));
        case.pair(r, a, 0.99999, false);
        case.pair(r, b, 0.96, false);
        let d = &case.run(&[r])[0];
        assert_eq!((d.target, d.rule), (c1, "SCORE"), "far ahead: linked");
    }
}

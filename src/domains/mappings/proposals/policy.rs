//! The decision policy, pure: from ranked candidates and the confidence bands to what happens
//! to each field (applied, queued for a person and why, or left unmapped). No I/O here.
use std::collections::{HashMap, HashSet};

use super::ReviewReason;
use crate::domains::mappings::scoring::Candidate;

/// Below this nothing is worth suggesting: the field is UNMAPPED (still queued for a human).
pub const CANDIDATE_FLOOR: f64 = 0.35;
/// Two candidates closer than this are a conflict for a human to settle.
pub const TIE_MARGIN: f64 = 0.02;
/// Fields of one call claiming the same target within this of the best are all contested.
pub const CONTEST_MARGIN: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    pub auto_apply: f64,
    pub review: f64,
}

/// What the policy says of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Make the top candidate the active mapping.
    Apply,
    /// Queue for a person, with the reason.
    Review(ReviewReason),
    /// Nothing worth suggesting.
    Unmapped,
}

/// Exact evidence alone settles a field (no vector search needed): its top candidate is in the
/// auto band and clear of the next one.
pub fn settled(candidates: &[Candidate], bands: &Bands) -> bool {
    match (candidates.first(), candidates.get(1)) {
        (Some(top), second) => {
            top.confidence >= bands.auto_apply
                && second.is_none_or(|s| top.confidence - s.confidence >= TIE_MARGIN)
        }
        _ => false,
    }
}

/// The two best candidates are too close to call, and the second is a serious one.
pub fn tied(candidates: &[Candidate], bands: &Bands) -> bool {
    match (candidates.first(), candidates.get(1)) {
        (Some(a), Some(b)) => {
            a.confidence - b.confidence < TIE_MARGIN && b.confidence >= bands.review
        }
        _ => false,
    }
}

/// Fields of one call whose top candidates (at least in the review band) claim the same
/// target: only a clear winner keeps it, the others are contested. A name given twice is one
/// field, not two competitors.
pub fn contested(names: &[&str], ranked: &[Vec<Candidate>], bands: &Bands) -> Vec<bool> {
    let mut claims: HashMap<(&str, &str), Vec<(usize, f64)>> = HashMap::new();
    let mut seen = HashSet::new();
    for (i, (name, candidates)) in names.iter().zip(ranked).enumerate() {
        if !seen.insert(name.to_lowercase()) {
            continue;
        }
        if let Some(top) = candidates.first().filter(|t| t.confidence >= bands.review) {
            claims
                .entry((top.entity.as_str(), top.field.as_str()))
                .or_default()
                .push((i, top.confidence));
        }
    }
    let mut out = vec![false; names.len()];
    for claimants in claims.values().filter(|c| c.len() > 1) {
        let best = claimants.iter().map(|c| c.1).fold(f64::MIN, f64::max);
        let leaders = claimants
            .iter()
            .filter(|c| best - c.1 < CONTEST_MARGIN)
            .count();
        for &(i, confidence) in claimants {
            if leaders > 1 || confidence < best {
                out[i] = true;
            }
        }
    }
    out
}

/// The verdict for a field whose best candidate has `confidence` (0 without one); `conflict`
/// when it is contested, tied, or its target is held by another source field.
pub fn verdict(confidence: f64, conflict: bool, bands: &Bands) -> Verdict {
    if confidence >= bands.auto_apply && !conflict {
        Verdict::Apply
    } else if conflict && confidence >= CANDIDATE_FLOOR {
        Verdict::Review(ReviewReason::Conflict)
    } else if confidence >= bands.review {
        Verdict::Review(ReviewReason::ReviewBand)
    } else if confidence >= CANDIDATE_FLOOR {
        Verdict::Review(ReviewReason::LowConfidence)
    } else {
        Verdict::Unmapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::mappings::model::MappingMethod;

    const BANDS: Bands = Bands {
        auto_apply: 0.85,
        review: 0.60,
    };

    fn c(target: &str, confidence: f64) -> Candidate {
        let (entity, field) = target.split_once('.').unwrap();
        Candidate {
            entity: entity.into(),
            field: field.into(),
            confidence,
            method: MappingMethod::Rag,
        }
    }

    #[test]
    fn verdicts_follow_the_bands() {
        use ReviewReason::*;
        let table = [
            // confidence, conflict, verdict
            (0.99, false, Verdict::Apply),
            (0.85, false, Verdict::Apply),
            (0.99, true, Verdict::Review(Conflict)),
            (0.40, true, Verdict::Review(Conflict)),
            (0.20, true, Verdict::Unmapped),
            (0.84, false, Verdict::Review(ReviewBand)),
            (0.60, false, Verdict::Review(ReviewBand)),
            (0.59, false, Verdict::Review(LowConfidence)),
            (0.35, false, Verdict::Review(LowConfidence)),
            (0.34, false, Verdict::Unmapped),
            (0.0, false, Verdict::Unmapped),
        ];
        for (confidence, conflict, expected) in table {
            assert_eq!(
                verdict(confidence, conflict, &BANDS),
                expected,
                "{confidence} {conflict}"
            );
        }
    }

    #[test]
    fn ties_and_settled_fields() {
        let table: [(&[Candidate], bool, bool); 6] = [
            // candidates, tied, settled
            (&[], false, false),
            (&[c("account.name", 0.95)], false, true),
            (
                &[c("account.name", 0.95), c("account.legal_name", 0.94)],
                true,
                false,
            ),
            (
                &[c("account.name", 0.95), c("account.legal_name", 0.80)],
                false,
                true,
            ),
            // A close second below the review band is no tie.
            (
                &[c("account.name", 0.55), c("account.legal_name", 0.54)],
                false,
                false,
            ),
            (&[c("account.name", 0.80)], false, false),
        ];
        for (candidates, is_tied, is_settled) in table {
            assert_eq!(tied(candidates, &BANDS), is_tied, "{candidates:?}");
            assert_eq!(settled(candidates, &BANDS), is_settled, "{candidates:?}");
        }
    }

    /// Field names, their ranked candidates, and which are contested.
    type ContestCase<'a> = (&'a [&'a str], Vec<Vec<Candidate>>, Vec<bool>);

    #[test]
    fn a_target_claimed_twice_goes_to_the_clear_winner_only() {
        let table: [ContestCase; 4] = [
            // A clear winner keeps it; the other is contested.
            (
                &["Company", "Org Name"],
                vec![vec![c("account.name", 0.95)], vec![c("account.name", 0.70)]],
                vec![false, true],
            ),
            // Two leaders within the margin: both contested.
            (
                &["Company", "Org Name"],
                vec![vec![c("account.name", 0.93)], vec![c("account.name", 0.90)]],
                vec![true, true],
            ),
            // The same name twice is one field.
            (
                &["Company", "company"],
                vec![vec![c("account.name", 0.95)], vec![c("account.name", 0.95)]],
                vec![false, false],
            ),
            // Claims below the review band do not count.
            (
                &["Company", "Org Name"],
                vec![vec![c("account.name", 0.95)], vec![c("account.name", 0.50)]],
                vec![false, false],
            ),
        ];
        for (names, ranked, expected) in table {
            assert_eq!(contested(names, &ranked, &BANDS), expected, "{names:?}");
        }
    }
}

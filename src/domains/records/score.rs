//! Fellegi–Sunter scoring of a pair of records: each compared field lands on a level (exact,
//! close, different) whose m and u probabilities give a match weight; the weights add up with
//! the prior to a match probability. Missing values weigh nothing. The m and u here are
//! hand-set; a tenant's learned model (`learn`) replaces them where it has evidence. Pure and
//! CPU-only.
use serde_json::{json, Map, Value};
use strsim::jaro_winkler;

use super::normalize;
use super::profile::{value_text, Profile, Role};
use super::targets::Targets;

/// One field's comparison: the level it reached and its weight (log2 of m/u).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub field: String,
    pub level: &'static str,
    pub weight: f64,
    /// The hand-set (m, u) of the level, where learning starts.
    pub defaults: (f64, f64),
}

#[derive(Debug, Clone)]
pub struct Score {
    pub probability: f64,
    pub weight: f64,
    pub comparisons: Vec<Comparison>,
}

impl Score {
    /// The evidence kept with a link or a review candidate.
    pub fn evidence(&self) -> Value {
        json!({
            "probability": self.probability,
            "weight": self.weight,
            "comparisons": self.comparisons.iter().map(|c| json!({
                "field": c.field, "level": c.level, "weight": c.weight,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Prior odds that two records sharing a block are the same thing (log2): most are not.
pub const PRIOR_WEIGHT: f64 = -7.0;

/// (level, m, u): P(level | same thing), P(level | different things).
type Level = (&'static str, f64, f64);

pub fn score(profile: &Profile, a: &Map<String, Value>, b: &Map<String, Value>) -> Score {
    score_with(profile, (a, None), (b, None))
}

/// A record's values and what its references resolve to.
pub type Side<'a> = (&'a Map<String, Value>, Option<&'a Targets>);

/// Scores a pair, comparing references by the unified records they resolve to.
pub fn score_with(profile: &Profile, (a, ta): Side<'_>, (b, tb): Side<'_>) -> Score {
    let model = profile.model.as_deref();
    let compared = |field: &str, (level, m, u): Level| {
        let (lm, lu) = model.and_then(|md| md.get(field, level)).unwrap_or((m, u));
        Comparison {
            field: field.to_owned(),
            level,
            weight: (lm / lu).log2(),
            defaults: (m, u),
        }
    };
    let mut comparisons = Vec::new();
    for (field, role) in &profile.fields {
        if let Role::Reference(_) = role {
            let target = |t: Option<&Targets>| t.and_then(|t| t.get(field).copied());
            if let (Some(x), Some(y)) = (target(ta), target(tb)) {
                // Colleagues share an account; one person's records rarely name two.
                let level: Level = if x == y {
                    ("same record", 0.90, 0.01)
                } else {
                    ("other record", 0.10, 0.99)
                };
                comparisons.push(compared(field, level));
            }
            continue;
        }
        let (Some(x), Some(y)) = (
            a.get(field).and_then(value_text),
            b.get(field).and_then(value_text),
        ) else {
            continue;
        };
        if let Some(level) = compare(role, &x, &y, &profile.country) {
            comparisons.push(compared(field, level));
        }
    }
    let prior = model.map_or(PRIOR_WEIGHT, |m| m.prior);
    let weight = prior + comparisons.iter().map(|c| c.weight).sum::<f64>();
    Score {
        probability: 1.0 / (1.0 + (-weight).exp2()),
        weight,
        comparisons,
    }
}

fn compare(role: &Role, x: &str, y: &str, country: &str) -> Option<Level> {
    Some(match role {
        Role::Email => {
            let (a, b) = (normalize::email(x)?, normalize::email(y)?);
            if a == b {
                ("exact", 0.90, 0.0001)
            } else if domain_of(&a) == domain_of(&b)
                && strsim::levenshtein(local(&a), local(&b)) <= 1
            {
                // A slip of one character at the same domain; `ann.lee1@` and `ann.lee2@`
                // elsewhere are other people.
                ("one typo", 0.04, 0.0005)
            } else {
                ("different", 0.06, 0.9989)
            }
        }
        Role::Domain => {
            let (a, b) = (normalize::domain(x)?, normalize::domain(y)?);
            if a == b {
                ("exact", 0.85, 0.0005)
            } else {
                ("different", 0.15, 0.9995)
            }
        }
        Role::Phone => {
            let (a, b) = (normalize::phone(x, country)?, normalize::phone(y, country)?);
            if a == b {
                ("exact", 0.75, 0.0002)
            } else if a.len() > 7 && b.len() > 7 && a[a.len() - 7..] == b[b.len() - 7..] {
                ("last seven", 0.05, 0.001)
            } else {
                ("different", 0.20, 0.9978)
            }
        }
        Role::Identifier => {
            let (a, b) = (
                normalize::text(x).replace(' ', ""),
                normalize::text(y).replace(' ', ""),
            );
            if a == b {
                ("exact", 0.95, 0.00001)
            } else {
                ("different", 0.05, 0.99999)
            }
        }
        Role::GivenName => {
            let (a, b) = (normalize::text(x), normalize::text(y));
            if a == b {
                ("exact", 0.80, 0.02)
            } else if jaro_winkler(&a, &b) >= 0.92 {
                ("close", 0.10, 0.01)
            } else if (a.len() == 1 || b.len() == 1) && a.chars().next() == b.chars().next() {
                ("initial", 0.05, 0.05)
            } else {
                ("different", 0.05, 0.92)
            }
        }
        Role::FamilyName => name_levels(&normalize::text(x), &normalize::text(y), (0.85, 0.005)),
        Role::OrgName => {
            let (a, b) = (normalize::org_name(x), normalize::org_name(y));
            if a == b {
                ("exact", 0.75, 0.0005)
            } else if jaro_winkler(&a, &b) >= 0.94 {
                ("close", 0.12, 0.002)
            } else if jaro_winkler(&a, &b) >= 0.88 || token_overlap(&a, &b) >= 0.6 {
                ("similar", 0.08, 0.01)
            } else {
                ("different", 0.05, 0.9875)
            }
        }
        Role::Street => {
            let (a, b) = (normalize::text(x), normalize::text(y));
            if a == b {
                ("exact", 0.70, 0.001)
            } else if jaro_winkler(&a, &b) >= 0.90 {
                ("close", 0.15, 0.003)
            } else {
                ("different", 0.15, 0.996)
            }
        }
        Role::City => {
            let (a, b) = (normalize::text(x), normalize::text(y));
            if a == b {
                ("exact", 0.85, 0.03)
            } else if jaro_winkler(&a, &b) >= 0.90 {
                ("close", 0.05, 0.005)
            } else {
                ("different", 0.10, 0.965)
            }
        }
        Role::State => equal_levels(x, y, (0.90, 0.10)),
        Role::Country => equal_levels(&normalize::country(x), &normalize::country(y), (0.95, 0.30)),
        Role::PostalCode => {
            let (a, b) = (
                normalize::text(x).replace(' ', ""),
                normalize::text(y).replace(' ', ""),
            );
            if a == b {
                ("exact", 0.80, 0.002)
            } else if a.len() >= 3 && b.len() >= 3 && a[..3] == b[..3] {
                ("same area", 0.08, 0.02)
            } else {
                ("different", 0.12, 0.978)
            }
        }
        Role::Date => equal_levels(x, y, (0.85, 0.001)),
        Role::Amount => {
            let (a, b) = (x.parse::<f64>().ok()?, y.parse::<f64>().ok()?);
            if (a - b).abs() <= 0.01 * a.abs().max(b.abs()) {
                ("within 1%", 0.70, 0.01)
            } else {
                ("different", 0.30, 0.99)
            }
        }
        Role::OwnId | Role::Reference(_) => return None,
    })
}

fn local(email: &str) -> &str {
    email.split('@').next().unwrap_or_default()
}

fn domain_of(email: &str) -> &str {
    email.rsplit('@').next().unwrap_or_default()
}

fn name_levels(a: &str, b: &str, (m, u): (f64, f64)) -> Level {
    let jw = jaro_winkler(a, b);
    if a == b {
        ("exact", m, u)
    } else if jw >= 0.92 {
        ("close", 0.08, 0.005)
    } else if jw >= 0.85 {
        ("similar", 0.03, 0.01)
    } else {
        ("different", 1.0 - m - 0.11, 1.0 - u - 0.015)
    }
}

fn equal_levels(x: &str, y: &str, (m, u): (f64, f64)) -> Level {
    if normalize::text(x) == normalize::text(y) {
        ("exact", m, u)
    } else {
        ("different", 1.0 - m, 1.0 - u)
    }
}

/// Share of the shorter name's words found in the other.
fn token_overlap(a: &str, b: &str) -> f64 {
    let (wa, wb): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
    let (short, long) = if wa.len() <= wb.len() {
        (wa, wb)
    } else {
        (wb, wa)
    };
    if short.is_empty() {
        return 0.0;
    }
    short.iter().filter(|w| long.contains(w)).count() as f64 / short.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::records::profile::FieldInfo;

    fn contact() -> Profile {
        let fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "mailing_city",
            "mailing_postal_code",
        ];
        let infos: Vec<FieldInfo<'_>> = fields
            .iter()
            .map(|name| FieldInfo {
                name,
                data_type: "string",
            })
            .collect();
        Profile::infer("contact", &infos, &["contact", "account"])
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_same_person_with_a_typo_scores_high() {
        let a = map(
            json!({"first_name": "Jonathan", "last_name": "Smith", "phone": "415-555-0134", "mailing_city": "San Francisco", "mailing_postal_code": "94105"}),
        );
        let b = map(
            json!({"first_name": "Jonathon", "last_name": "Smyth", "phone": "+1 (415) 555 0134", "mailing_city": "san francisco", "mailing_postal_code": "94105"}),
        );
        let s = score(&contact(), &a, &b);
        assert!(s.probability > 0.99, "{s:?}");
        assert_eq!(s.comparisons.len(), 5);
    }

    #[test]
    fn namesakes_elsewhere_score_low_and_missing_values_weigh_nothing() {
        let a = map(
            json!({"first_name": "John", "last_name": "Smith", "email": "john@acme.com", "mailing_city": "Boston"}),
        );
        let b = map(
            json!({"first_name": "John", "last_name": "Smith", "email": "jsmith@globex.com", "mailing_city": "Denver"}),
        );
        assert!(score(&contact(), &a, &b).probability < 0.5);
        let c = map(json!({"first_name": "John"}));
        let s = score(&contact(), &a, &c);
        assert_eq!(s.comparisons.len(), 1, "only the shared field counts");
    }

    #[test]
    fn company_names_compare_without_legal_forms() {
        let infos = [
            FieldInfo {
                name: "name",
                data_type: "string",
            },
            FieldInfo {
                name: "billing_city",
                data_type: "string",
            },
        ];
        let p = Profile::infer("account", &infos, &["account"]);
        let a = map(json!({"name": "Acme, Inc.", "billing_city": "Austin"}));
        let b = map(json!({"name": "ACME Incorporated", "billing_city": "Austin"}));
        let s = score(&p, &a, &b);
        assert_eq!(s.comparisons[0].level, "exact");
        let c = map(json!({"name": "Acme Logistics", "billing_city": "Reno"}));
        assert!(score(&p, &a, &c).probability < 0.2);
    }

    #[test]
    fn references_compare_by_the_unified_record_they_resolve_to() {
        let infos: Vec<FieldInfo<'_>> = ["first_name", "last_name", "account_id"]
            .iter()
            .map(|name| FieldInfo {
                name,
                data_type: "string",
            })
            .collect();
        let p = Profile::infer("contact", &infos, &["contact", "account"]);
        // Namesakes: the same name, each at an account of their own.
        let a = map(json!({"first_name": "Ann", "last_name": "Lee", "account_id": "A1"}));
        let b = map(json!({"first_name": "Ann", "last_name": "Lee", "account_id": "H9"}));
        let (acme, globex) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let at = |u| Targets::from([("account_id".to_owned(), u)]);
        let (ta, same, other) = (at(acme), at(acme), at(globex));
        let alike = score_with(&p, (&a, Some(&ta)), (&b, Some(&same)));
        let apart = score_with(&p, (&a, Some(&ta)), (&b, Some(&other)));
        let unknown = score(&p, &a, &b);
        assert!(alike.weight > unknown.weight + 6.0, "{alike:?}");
        assert!(apart.weight < unknown.weight - 3.0, "{apart:?}");
        assert_eq!(
            unknown.comparisons.len(),
            2,
            "raw ids of two sources say nothing"
        );
    }
}

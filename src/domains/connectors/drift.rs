//! Schema drift: a fingerprint per source schema and the difference between two versions.
use super::source::FieldSchema;
use crate::domains::mappings::names;
use crate::text_enum::text_enum;

#[derive(Debug, Clone, PartialEq)]
pub enum Drift {
    Added(FieldSchema),
    Removed(FieldSchema),
    Renamed { from: FieldSchema, to: FieldSchema },
    TypeChanged { from: FieldSchema, to: FieldSchema },
}

text_enum! {
    pub enum DriftKind {
        FieldAdded => "FIELD_ADDED",
        FieldRemoved => "FIELD_REMOVED",
        FieldRenamed => "FIELD_RENAMED",
        TypeChanged => "TYPE_CHANGED",
    }
}

impl Drift {
    /// The field's name now (for removals, the name it had).
    pub fn field_name(&self) -> &str {
        match self {
            Self::Added(f) | Self::Removed(f) => &f.name,
            Self::Renamed { to, .. } | Self::TypeChanged { to, .. } => &to.name,
        }
    }

    pub fn kind(&self) -> DriftKind {
        match self {
            Self::Added(_) => DriftKind::FieldAdded,
            Self::Removed(_) => DriftKind::FieldRemoved,
            Self::Renamed { .. } => DriftKind::FieldRenamed,
            Self::TypeChanged { .. } => DriftKind::TypeChanged,
        }
    }
}

/// One recorded drift of a connector's source, as the drift history shows it.
#[derive(Debug, Clone)]
pub struct DriftRecord {
    pub id: uuid::Uuid,
    pub connector_id: uuid::Uuid,
    pub source_entity: String,
    pub kind: DriftKind,
    /// The field's name now (for removals, the name it had).
    pub field_name: String,
    /// `{name, dataType, samples}` before and after.
    pub previous: Option<serde_json::Value>,
    pub current: Option<serde_json::Value>,
    pub schema_version: i32,
    /// It takes away, renames or retypes a field an active mapping read.
    pub breaking: bool,
    pub detected_at: chrono::DateTime<chrono::Utc>,
}

/// Names and types, order-independent: reordering columns is not drift.
pub fn fingerprint(fields: &[FieldSchema]) -> String {
    use sha2::{Digest, Sha256};
    let mut parts: Vec<String> = fields
        .iter()
        .map(|f| format!("{}:{}", f.name.to_lowercase(), f.data_type))
        .collect();
    parts.sort();
    hex::encode(Sha256::digest(parts.join("\n").as_bytes()))
}

/// How alike a removed and an added field must be to count as one field renamed.
const RENAME_SIMILARITY: f64 = 0.55;

/// Changes from `before` to `after`. A removed and an added field of the same type whose names
/// (or, failing that, sample values) are alike are one field renamed; each field pairs at most
/// once, best match first.
pub fn diff(before: &[FieldSchema], after: &[FieldSchema]) -> Vec<Drift> {
    let key = |f: &FieldSchema| f.name.to_lowercase();
    let mut out = Vec::new();
    for b in before {
        if let Some(a) = after.iter().find(|a| key(a) == key(b)) {
            if a.data_type != b.data_type {
                out.push(Drift::TypeChanged {
                    from: b.clone(),
                    to: a.clone(),
                });
            }
        }
    }
    let removed: Vec<&FieldSchema> = before
        .iter()
        .filter(|b| !after.iter().any(|a| key(a) == key(b)))
        .collect();
    let added: Vec<&FieldSchema> = after
        .iter()
        .filter(|a| !before.iter().any(|b| key(a) == key(b)))
        .collect();
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, r) in removed.iter().enumerate() {
        for (j, a) in added.iter().enumerate() {
            if r.data_type != a.data_type {
                continue;
            }
            let by_name = names::similarity(&r.name, &a.name);
            let by_samples = if !r.samples.is_empty() && r.samples == a.samples {
                0.9
            } else {
                0.0
            };
            let score = by_name.max(by_samples);
            if score >= RENAME_SIMILARITY {
                pairs.push((score, i, j));
            }
        }
    }
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0));
    let (mut used_r, mut used_a) = (vec![false; removed.len()], vec![false; added.len()]);
    for (_, i, j) in pairs {
        if !used_r[i] && !used_a[j] {
            used_r[i] = true;
            used_a[j] = true;
            out.push(Drift::Renamed {
                from: removed[i].clone(),
                to: added[j].clone(),
            });
        }
    }
    out.extend(
        removed
            .iter()
            .zip(&used_r)
            .filter(|(_, used)| !**used)
            .map(|(r, _)| Drift::Removed((*r).clone())),
    );
    out.extend(
        added
            .iter()
            .zip(&used_a)
            .filter(|(_, used)| !**used)
            .map(|(a, _)| Drift::Added((*a).clone())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, ty: &str, samples: &[&str]) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            data_type: ty.into(),
            samples: samples.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn fingerprints_ignore_order_but_not_types() {
        let a = [f("id", "integer", &[]), f("name", "string", &[])];
        let b = [f("name", "string", &[]), f("id", "integer", &[])];
        let c = [f("id", "string", &[]), f("name", "string", &[])];
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn additions_removals_renames_and_type_changes_are_told_apart() {
        let before = [
            f("id", "integer", &["1"]),
            f("company_name", "string", &["Acme"]),
            f("revenue", "integer", &["10"]),
            f("fax", "string", &["555"]),
            f("zip", "string", &["02139"]),
        ];
        let after = [
            f("id", "integer", &["1"]),
            f("companyname", "string", &["Acme"]),
            f("revenue", "decimal", &["10.5"]),
            f("postcode", "string", &["02139"]),
            f("website", "string", &["acme.test"]),
        ];
        let mut kinds: Vec<String> = diff(&before, &after)
            .iter()
            .map(|d| match d {
                Drift::Added(a) => format!("added {}", a.name),
                Drift::Removed(r) => format!("removed {}", r.name),
                Drift::Renamed { from, to } => format!("renamed {} {}", from.name, to.name),
                Drift::TypeChanged { from, to } => {
                    format!("type {} {}>{}", from.name, from.data_type, to.data_type)
                }
            })
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                "added website",
                "removed fax",
                "renamed company_name companyname",
                "renamed zip postcode",
                "type revenue integer>decimal",
            ]
        );
    }
}

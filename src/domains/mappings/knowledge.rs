//! Baseline knowledge about the canonical model: per field, its words, aliases from many CRMs
//! and its description; per entity, the words source systems use for it. This is what lets
//! proposals work for sources nobody has mapped before.
use std::collections::HashMap;

use serde::Deserialize;

use super::names;
use crate::domains::ontology::builtin;

const ALIASES: &str = include_str!("knowledge/crm-v1-aliases.json");

#[derive(Deserialize)]
struct AliasFile {
    entity_hints: HashMap<String, Vec<String>>,
    common: HashMap<String, Vec<String>>,
    fields: HashMap<String, Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct FieldKnowledge {
    pub entity: String,
    pub field: String,
    pub data_type: String,
    pub description: Option<String>,
    /// The field's own words first, then aliases, all as phrases.
    pub phrases: Vec<String>,
}

#[derive(Debug)]
pub struct Knowledge {
    pub fields: Vec<FieldKnowledge>,
    entity_hints: Vec<(String, Vec<String>)>,
    by_compact: HashMap<String, Vec<usize>>,
    /// Head words of all canonical phrases: the words that tell fields apart.
    heads: std::collections::HashSet<String>,
}

impl Knowledge {
    pub fn builtin() -> anyhow::Result<Self> {
        let model = builtin::crm_v1()?;
        let aliases: AliasFile = serde_json::from_str(ALIASES)?;
        let mut fields = Vec::new();
        for entity in &model.entities {
            for f in &entity.fields {
                let mut phrases = vec![names::phrase(&f.name)];
                let specific = aliases.fields.get(&format!("{}.{}", entity.name, f.name));
                let common = aliases.common.get(&f.name);
                for alias in specific
                    .into_iter()
                    .flatten()
                    .chain(common.into_iter().flatten())
                {
                    let p = names::phrase(alias);
                    if !p.is_empty() && !phrases.contains(&p) {
                        phrases.push(p);
                    }
                }
                fields.push(FieldKnowledge {
                    entity: entity.name.clone(),
                    field: f.name.clone(),
                    data_type: f.data_type.clone(),
                    description: f.description.clone(),
                    phrases,
                });
            }
        }
        let mut by_compact: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, f) in fields.iter().enumerate() {
            for p in &f.phrases {
                let entry = by_compact.entry(names::compact(p)).or_default();
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        let mut entity_hints: Vec<(String, Vec<String>)> = aliases
            .entity_hints
            .into_iter()
            .map(|(e, hints)| (e, hints.iter().map(|h| names::compact(h)).collect()))
            .collect();
        entity_hints.sort();
        let heads = fields
            .iter()
            .flat_map(|f| f.phrases.iter().filter_map(|p| names::head(p)))
            .collect();
        Ok(Self {
            fields,
            entity_hints,
            by_compact,
            heads,
        })
    }

    /// The canonical entity a source entity name suggests (`companies` → account).
    pub fn entity_for(&self, source_entity: &str) -> Option<&str> {
        let words = names::words(source_entity);
        let whole = words.concat();
        let candidates: Vec<&String> = std::iter::once(&whole).chain(words.iter().rev()).collect();
        for c in candidates {
            for (entity, hints) in &self.entity_hints {
                if hints.iter().any(|h| h == c) {
                    return Some(entity);
                }
            }
        }
        None
    }

    /// Fields whose name or an alias equals the name, ignoring case and separators.
    pub fn exact(&self, source_field: &str) -> Vec<&FieldKnowledge> {
        self.by_compact
            .get(&names::compact(source_field))
            .map(|ids| ids.iter().map(|&i| &self.fields[i]).collect())
            .unwrap_or_default()
    }

    /// Whether `word` is the head word of some canonical phrase.
    pub fn is_head(&self, word: &str) -> bool {
        self.heads.contains(word)
    }

    pub fn field(&self, entity: &str, field: &str) -> Option<&FieldKnowledge> {
        self.fields
            .iter()
            .find(|f| f.entity == entity && f.field == field)
    }

    /// Texts to embed into the baseline namespace: every phrase, and "entity field: description".
    pub fn baseline_texts(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for f in &self.fields {
            for p in &f.phrases {
                out.push((f.entity.clone(), f.field.clone(), p.clone()));
            }
            if let Some(d) = &f.description {
                out.push((
                    f.entity.clone(),
                    f.field.clone(),
                    format!(
                        "{} {}: {}",
                        f.entity,
                        names::phrase(&f.field),
                        d.to_lowercase()
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_recognized_from_source_names() {
        let k = Knowledge::builtin().unwrap();
        assert_eq!(k.entity_for("companies"), Some("account"));
        assert_eq!(k.entity_for("Account"), Some("account"));
        assert_eq!(k.entity_for("crm_deals"), Some("opportunity"));
        assert_eq!(k.entity_for("Persons"), Some("contact"));
        assert_eq!(k.entity_for("Lead"), Some("lead"));
        assert_eq!(k.entity_for("widgets"), None);
    }

    #[test]
    fn aliases_match_exactly_across_spellings() {
        let k = Knowledge::builtin().unwrap();
        let hits: Vec<_> = k
            .exact("AnnualRevenue")
            .iter()
            .map(|f| format!("{}.{}", f.entity, f.field))
            .collect();
        assert_eq!(hits, ["account.annual_revenue"]);
        let email: Vec<_> = k.exact("Email").iter().map(|f| f.entity.clone()).collect();
        assert!(email.contains(&"contact".to_owned()) && email.contains(&"lead".to_owned()));
    }
}

//! Golden values: for each field, the member record whose value survives, by the tenant's rule
//! for that field (or its entity), with the value's provenance and the other members' values as
//! alternatives. Pure.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::text_enum::text_enum;

text_enum! {
    #[derive(async_graphql::Enum)]
    /// How the surviving value of a field is chosen among a unified record's members.
    pub enum SurvivorshipRule {
        /// The first source in the rule's priority list that has a value (then the most recent).
        SourcePriority => "SOURCE_PRIORITY",
        /// The value of the member updated last.
        MostRecent => "MOST_RECENT",
        /// The value of the member with the most fields filled (then the most recent).
        MostComplete => "MOST_COMPLETE",
        /// The value most members agree on (then the most recent).
        MostFrequent => "MOST_FREQUENT",
    }
}

/// A rule with its source priority (source systems, best first; only SOURCE_PRIORITY reads it).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub rule: SurvivorshipRule,
    pub source_priority: Vec<String>,
}

impl Default for RuleSpec {
    fn default() -> Self {
        Self {
            rule: SurvivorshipRule::MostRecent,
            source_priority: Vec::new(),
        }
    }
}

/// An entity's rules: one for the entity, and any per field.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub entity: RuleSpec,
    pub fields: HashMap<String, RuleSpec>,
}

impl Rules {
    fn for_field(&self, field: &str) -> &RuleSpec {
        self.fields.get(field).unwrap_or(&self.entity)
    }
}

/// A canonical record that belongs to the unified record.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: Uuid,
    pub source_system: String,
    pub connector_id: Option<Uuid>,
    pub source_record_id: String,
    pub data: Map<String, Value>,
    pub lineage: Map<String, Value>,
    pub updated_at: DateTime<Utc>,
}

impl Member {
    fn filled(&self) -> usize {
        self.data.values().filter(|v| !is_empty(v)).count()
    }

    /// Where this member's value of a field came from.
    fn origin(&self, field: &str) -> Value {
        let lineage = self.lineage.get(field).cloned().unwrap_or(Value::Null);
        json!({
            "canonicalRecordId": self.id,
            "connectorId": self.connector_id,
            "sourceSystem": self.source_system,
            "sourceRecordId": self.source_record_id,
            "sourceField": lineage.get("sourceField"),
            "mappingId": lineage.get("mappingId"),
            "mappingVersion": lineage.get("mappingVersion"),
            "transformed": lineage.get("transformed").cloned().unwrap_or(json!(false)),
            "updatedAt": self.updated_at,
        })
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Golden {
    pub data: Map<String, Value>,
    /// field → origin of the surviving value, with `rule`.
    pub provenance: Map<String, Value>,
    /// field → the other members' values, each with its origin.
    pub alternatives: Map<String, Value>,
}

/// For each field some member fills: the member whose value survives, the members that
/// have one, and the rule that chose.
fn choices<'a>(
    members: &'a [Member],
    rules: &'a Rules,
) -> impl Iterator<Item = (&'a String, &'a Member, Vec<&'a Member>, &'a RuleSpec)> {
    let mut fields: Vec<&String> = members.iter().flat_map(|m| m.data.keys()).collect();
    fields.sort();
    fields.dedup();
    fields.into_iter().filter_map(move |field| {
        let having: Vec<&Member> = members
            .iter()
            .filter(|m| m.data.get(field).is_some_and(|v| !is_empty(v)))
            .collect();
        let spec = rules.for_field(field);
        let chosen = choose(&having, field, spec)?;
        Some((field, chosen, having, spec))
    })
}

/// The golden values alone (what is stored and queried; provenance is read from members).
pub fn values(members: &[Member], rules: &Rules) -> Map<String, Value> {
    choices(members, rules)
        .map(|(field, chosen, ..)| (field.clone(), chosen.data[field].clone()))
        .collect()
}

/// The golden values with each one's provenance and the other members' values.
pub fn golden(members: &[Member], rules: &Rules) -> Golden {
    let mut out = Golden::default();
    for (field, chosen, having, spec) in choices(members, rules) {
        out.data.insert(field.clone(), chosen.data[field].clone());
        let mut origin = chosen.origin(field);
        origin["rule"] = json!(spec.rule.as_str());
        out.provenance.insert(field.clone(), origin);
        let others: Vec<Value> = having
            .iter()
            .filter(|m| m.id != chosen.id)
            .map(|m| {
                let mut alt = m.origin(field);
                alt["value"] = m.data[field].clone();
                alt
            })
            .collect();
        if !others.is_empty() {
            out.alternatives.insert(field.clone(), Value::Array(others));
        }
    }
    out
}

/// Most recent first; the id breaks ties so the choice never flips between runs.
fn recency(a: &&Member, b: &&Member) -> std::cmp::Ordering {
    b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id))
}

fn choose<'a>(having: &[&'a Member], field: &str, spec: &RuleSpec) -> Option<&'a Member> {
    let mut ranked: Vec<&Member> = having.to_vec();
    ranked.sort_by(recency);
    match spec.rule {
        SurvivorshipRule::MostRecent => {}
        SurvivorshipRule::SourcePriority => {
            let rank = |m: &Member| {
                spec.source_priority
                    .iter()
                    .position(|s| s.eq_ignore_ascii_case(&m.source_system))
                    .unwrap_or(usize::MAX)
            };
            ranked.sort_by_key(|m| rank(m));
        }
        SurvivorshipRule::MostComplete => ranked.sort_by_key(|m| std::cmp::Reverse(m.filled())),
        SurvivorshipRule::MostFrequent => {
            let votes = |m: &Member| {
                having
                    .iter()
                    .filter(|o| o.data[field] == m.data[field])
                    .count()
            };
            ranked.sort_by_key(|m| std::cmp::Reverse(votes(m)));
        }
    }
    ranked.first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn member(system: &str, day: u32, data: Value) -> Member {
        Member {
            id: Uuid::now_v7(),
            source_system: system.into(),
            connector_id: None,
            source_record_id: format!("{system}-1"),
            data: data.as_object().cloned().unwrap_or_default(),
            lineage: json!({"name": {"sourceField": "Name", "mappingId": Uuid::nil(), "mappingVersion": 2, "transformed": true}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            updated_at: Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap(),
        }
    }

    fn rules(rule: SurvivorshipRule, priority: &[&str]) -> Rules {
        Rules {
            entity: RuleSpec {
                rule,
                source_priority: priority.iter().map(|s| (*s).to_owned()).collect(),
            },
            fields: HashMap::new(),
        }
    }

    #[test]
    fn each_rule_picks_its_member_and_says_so() {
        let members = [
            member(
                "salesforce",
                1,
                json!({"name": "Acme Corp", "industry": "Tech", "phone": "1"}),
            ),
            member("hubspot", 3, json!({"name": "ACME", "industry": ""})),
            member("csv", 2, json!({"name": "ACME"})),
        ];
        let pick = |r: SurvivorshipRule, p: &[&str]| golden(&members, &rules(r, p));
        assert_eq!(
            pick(SurvivorshipRule::MostRecent, &[]).data["name"],
            json!("ACME")
        );
        assert_eq!(
            pick(SurvivorshipRule::SourcePriority, &["salesforce"]).data["name"],
            json!("Acme Corp")
        );
        assert_eq!(
            pick(SurvivorshipRule::MostComplete, &[]).data["name"],
            json!("Acme Corp")
        );
        let frequent = pick(SurvivorshipRule::MostFrequent, &[]);
        assert_eq!(frequent.data["name"], json!("ACME"));
        assert_eq!(
            values(&members, &rules(SurvivorshipRule::MostFrequent, &[])),
            frequent.data,
            "the values alone are the same values"
        );
        assert_eq!(
            frequent.provenance["name"]["sourceSystem"],
            json!("hubspot"),
            "the more recent of the agreeing"
        );
        assert_eq!(frequent.provenance["name"]["rule"], json!("MOST_FREQUENT"));
        assert_eq!(frequent.provenance["name"]["sourceField"], json!("Name"));
        assert_eq!(frequent.provenance["name"]["mappingVersion"], json!(2));
        assert_eq!(
            frequent.alternatives["name"].as_array().map(Vec::len),
            Some(2)
        );
        // An empty value never survives over a filled one.
        assert_eq!(frequent.data["industry"], json!("Tech"));
        assert!(!frequent.alternatives.contains_key("industry"));
    }

    #[test]
    fn a_field_rule_overrides_the_entity_rule() {
        let members = [
            member("salesforce", 1, json!({"name": "Acme Corp", "phone": "1"})),
            member("hubspot", 3, json!({"name": "ACME", "phone": "2"})),
        ];
        let mut r = rules(SurvivorshipRule::MostRecent, &[]);
        r.fields.insert(
            "name".into(),
            RuleSpec {
                rule: SurvivorshipRule::SourcePriority,
                source_priority: vec!["salesforce".into()],
            },
        );
        let g = golden(&members, &r);
        assert_eq!(g.data["name"], json!("Acme Corp"));
        assert_eq!(g.data["phone"], json!("2"));
    }
}

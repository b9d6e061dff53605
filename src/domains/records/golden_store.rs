//! Rows of golden records: the values survivorship chose, their history, the tenant's rules.
use sea_orm::sea_query::ArrayType;
use sea_orm::DbErr;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::store::{array, execute, query, uuids};
use super::survivorship::{RuleSpec, Rules, SurvivorshipRule};
use crate::tenancy::ScopedTx;

/// Writes golden records (created or updated) and removes unified records left without members.
/// Returns the ids created.
pub async fn write_golden(
    tx: &ScopedTx<'_>,
    entity: &str,
    golden: &[(Uuid, Map<String, Json>, usize)],
    emptied: &[Uuid],
) -> Result<Vec<Uuid>, DbErr> {
    if !emptied.is_empty() {
        execute(
            tx,
            "DELETE FROM unified_records WHERE tenant_id = $1 AND entity = $2 AND id = ANY($3)",
            vec![tx.tenant_id().into(), entity.into(), uuids(emptied)],
        )
        .await?;
    }
    if golden.is_empty() {
        return Ok(Vec::new());
    }
    let rows = query(
        tx,
        // Words joined by spaces (they hold none): one array per row cannot pass through unnest.
        "INSERT INTO unified_records (tenant_id, entity, id, data, member_count, search)
         SELECT $1, $2, id, d, n, array_to_tsvector(string_to_array(w, ' '))
         FROM unnest($3::uuid[], $4::jsonb[], $5::int[], $6::text[]) AS t(id, d, n, w)
         ON CONFLICT (tenant_id, entity, id) DO UPDATE SET data = EXCLUDED.data,
             member_count = EXCLUDED.member_count, search = EXCLUDED.search,
             version = unified_records.version + 1, updated_at = now()
         RETURNING id, (xmax = 0) AS created",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            array(golden.iter().map(|g| g.0), ArrayType::Uuid),
            array(
                golden.iter().map(|g| Json::Object(g.1.clone())),
                ArrayType::Json,
            ),
            array(golden.iter().map(|g| g.2 as i32), ArrayType::Int),
            array(
                golden.iter().map(|g| words_of(&g.1).join(" ")),
                ArrayType::String,
            ),
        ],
    )
    .await?;
    let mut created = Vec::new();
    for r in rows {
        if r.try_get::<bool>("", "created")? {
            created.push(r.try_get("", "id")?);
        }
    }
    Ok(created)
}

/// Longest word kept whole (longer ones are cut: a search word of that length still finds them).
const MAX_WORD_BYTES: usize = 200;
/// Most distinct words of a record kept for search (a tsvector holds at most 1 MB).
const MAX_WORDS: usize = 2_000;

/// The words a search finds a record by: every run of letters and digits of its values,
/// lower-cased, whole and split at its lower-to-upper humps (`McDonald`: `mcdonald`, `mc`,
/// `donald`), as `search_words` splits what people type. Made here rather than by
/// `to_tsvector`, whose parser keeps an email or a URL as one word and cost 20 µs a record.
fn words_of(values: &Map<String, Json>) -> Vec<String> {
    fn add(words: &mut Vec<String>, word: &str) {
        let mut end = word.len().min(MAX_WORD_BYTES);
        while !word.is_char_boundary(end) {
            end -= 1;
        }
        words.push(word[..end].to_lowercase());
    }
    fn text(value: &Json, words: &mut Vec<String>) {
        match value {
            Json::String(s) => runs(s, words),
            Json::Number(n) => runs(&n.to_string(), words),
            Json::Bool(b) => runs(if *b { "true" } else { "false" }, words),
            Json::Array(items) => items.iter().for_each(|v| text(v, words)),
            Json::Object(m) => m.values().for_each(|v| text(v, words)),
            Json::Null => {}
        }
    }
    fn runs(s: &str, words: &mut Vec<String>) {
        for run in s
            .split(|c: char| !c.is_alphanumeric())
            .filter(|r| !r.is_empty())
        {
            add(words, run);
            let mut start = 0;
            let mut prev: Option<char> = None;
            for (i, c) in run.char_indices() {
                if prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) && c.is_uppercase()
                {
                    add(words, &run[start..i]);
                    start = i;
                }
                prev = Some(c);
            }
            if start > 0 {
                add(words, &run[start..]);
            }
        }
    }
    let mut words = Vec::new();
    values.values().for_each(|v| text(v, &mut words));
    // The first of each, in the values' order, up to the bound.
    let mut seen = std::collections::HashSet::new();
    words.retain(|w| seen.insert(w.clone()));
    words.truncate(MAX_WORDS);
    words
}

/// One line of a unified record's history.
pub struct HistoryEntry {
    pub unified_id: Uuid,
    pub kind: &'static str,
    pub actor: Option<String>,
    pub detail: Json,
}

pub async fn write_history(
    tx: &ScopedTx<'_>,
    entity: &str,
    entries: &[HistoryEntry],
) -> Result<(), DbErr> {
    if entries.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO unified_history (id, tenant_id, entity, unified_id, kind, actor, detail)
         SELECT id, $1, $2, u, k, NULLIF(a, ''), d FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::jsonb[])
              AS t(id, u, k, a, d)",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            array(entries.iter().map(|_| Uuid::now_v7()), ArrayType::Uuid),
            array(entries.iter().map(|e| e.unified_id), ArrayType::Uuid),
            array(entries.iter().map(|e| e.kind.to_owned()), ArrayType::String),
            array(entries.iter().map(|e| e.actor.clone().unwrap_or_default()), ArrayType::String),
            array(entries.iter().map(|e| e.detail.clone()), ArrayType::Json),
        ],
    )
    .await
    .map(drop)
}

/// The tenant's survivorship rules of an entity (MOST_RECENT where none is set).
pub async fn rules(tx: &ScopedTx<'_>, entity: &str) -> Result<Rules, DbErr> {
    let rows = query(
        tx,
        "SELECT field, rule, source_priority FROM survivorship_rules WHERE tenant_id = $1 AND entity = $2",
        vec![tx.tenant_id().into(), entity.into()],
    )
    .await?;
    let mut rules = Rules::default();
    for r in rows {
        let field: String = r.try_get("", "field")?;
        let rule: String = r.try_get("", "rule")?;
        let spec = RuleSpec {
            rule: rule.parse().unwrap_or(SurvivorshipRule::MostRecent),
            source_priority: r.try_get("", "source_priority")?,
        };
        if field.is_empty() {
            rules.entity = spec;
        } else {
            rules.fields.insert(field, spec);
        }
    }
    Ok(rules)
}

pub async fn save_rule(
    tx: &ScopedTx<'_>,
    entity: &str,
    field: &str,
    spec: &RuleSpec,
    by: &str,
) -> Result<(), DbErr> {
    execute(
        tx,
        "INSERT INTO survivorship_rules (tenant_id, entity, field, rule, source_priority, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, entity, field) DO UPDATE SET rule = EXCLUDED.rule,
             source_priority = EXCLUDED.source_priority, updated_by = EXCLUDED.updated_by, updated_at = now()",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            field.into(),
            spec.rule.as_str().into(),
            array(spec.source_priority.iter().cloned(), ArrayType::String),
            by.into(),
        ],
    )
    .await
    .map(drop)
}

/// Unified ids of every record of an entity (a rule change recomputes them), a page at a time.
pub async fn unified_ids_after(
    tx: &ScopedTx<'_>,
    entity: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Uuid>, DbErr> {
    let rows = query(
        tx,
        "SELECT id FROM unified_records WHERE tenant_id = $1 AND entity = $2 AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4",
        vec![tx.tenant_id().into(), entity.into(), after.into(), (limit as i64).into()],
    )
    .await?;
    rows.iter().map(|r| r.try_get("", "id")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_found_by_every_word_people_type() {
        let values = json!({
            "name": "McDonald's Ltd",
            "email": "Ada.Lovelace@Example.com",
            "employees": 12,
            "tags": ["vip", {"x": "Ünïcode"}],
            "note": null
        });
        let words = words_of(values.as_object().unwrap());
        for w in [
            "mcdonald",
            "mc",
            "donald",
            "s",
            "ltd",
            "ada",
            "lovelace",
            "example",
            "com",
            "12",
            "vip",
            "ünïcode",
        ] {
            assert!(words.iter().any(|x| x == w), "{w} in {words:?}");
        }
        assert!(
            !words.iter().any(|w| w.is_empty() || w.contains(' ')),
            "{words:?}"
        );
    }

    #[test]
    fn long_and_many_words_are_bounded() {
        let long = "é".repeat(300);
        let many: Vec<String> = (0..3_000).map(|i| format!("w{i}")).collect();
        let values = json!({ "long": long, "many": many.join(" ") });
        let words = words_of(values.as_object().unwrap());
        assert_eq!(words.len(), MAX_WORDS);
        let cut = words
            .iter()
            .find(|w| w.starts_with('é'))
            .expect("the long word, cut");
        assert!(cut.len() <= MAX_WORD_BYTES && cut.chars().all(|c| c == 'é'));
    }
}

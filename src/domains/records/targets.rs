//! What records' references point at, as unified records: a contact's `account_id` "A17" is the
//! unified account holding the account whose own id is A17 in the contact's source (or, when
//! that source has none, the one unified account any source's A17 belongs to). Two records
//! naming the same unified account is evidence they are one person; different ones, against.
use std::collections::HashMap;

use sea_orm::sea_query::ArrayType;
use sea_orm::DbErr;
use uuid::Uuid;

use super::profile::{value_text, Profile};
use super::store::{array, query, Compared};
use crate::tenancy::ScopedTx;

/// Reference field → the unified record it resolves to.
pub type Targets = HashMap<String, Uuid>;

/// The targets of these records' references (records without any are left out).
pub async fn targets(
    tx: &ScopedTx<'_>,
    profile: &Profile,
    records: &[Compared],
) -> Result<HashMap<Uuid, Targets>, DbErr> {
    let mut out: HashMap<Uuid, Targets> = HashMap::new();
    for (field, entity) in profile.references() {
        let text = |r: &Compared| r.view.data.get(field).and_then(value_text);
        let mut values: Vec<String> = records.iter().filter_map(text).collect();
        values.sort();
        values.dedup();
        if values.is_empty() {
            continue;
        }
        let held = holders(tx, entity, &values).await?;
        for r in records {
            let Some(hits) = text(r).and_then(|v| held.get(&v)) else {
                continue;
            };
            let own = hits.iter().find(|(system, _)| *system == r.source_system);
            let only = hits.iter().all(|(_, u)| *u == hits[0].1).then(|| &hits[0]);
            if let Some((_, unified)) = own.or(only) {
                out.entry(r.id)
                    .or_default()
                    .insert(field.to_owned(), *unified);
            }
        }
    }
    Ok(out)
}

/// Own id → (source system, unified record) of the records of `entity` with those ids.
async fn holders(
    tx: &ScopedTx<'_>,
    entity: &str,
    values: &[String],
) -> Result<HashMap<String, Vec<(String, Uuid)>>, DbErr> {
    let rows = query(
        tx,
        // Driven by the ids, a few rows each (a first sync's statistics once made this a
        // 370 ms join per batch).
        "SELECT v.value, hit.source_system, hit.unified_id FROM unnest($3::text[]) AS v(value)
         CROSS JOIN LATERAL (
             SELECT r.source_system, l.unified_id FROM record_keys k
             JOIN canonical_records r ON r.tenant_id = k.tenant_id AND r.entity = k.entity AND r.id = k.canonical_id
             JOIN record_links l ON l.tenant_id = k.tenant_id AND l.entity = k.entity AND l.canonical_id = k.canonical_id
             WHERE k.tenant_id = $1 AND k.entity = $2 AND k.kind = 'self' AND k.value = v.value
             LIMIT 20) hit",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            array(values.iter().cloned(), ArrayType::String),
        ],
    )
    .await?;
    let mut out: HashMap<String, Vec<(String, Uuid)>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get("", "value")?).or_default().push((
            r.try_get("", "source_system")?,
            r.try_get("", "unified_id")?,
        ));
    }
    Ok(out)
}

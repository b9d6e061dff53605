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
        // One lookup per value and table (see `store`'s note on lookups).
        "SELECT v.value, r.source_system, l.unified_id FROM unnest($3::text[]) AS v(value)
         CROSS JOIN LATERAL (
             SELECT k.canonical_id FROM record_keys k
             WHERE k.tenant_id = $1 AND k.entity = $2 AND k.kind = 'self' AND k.value = v.value
             LIMIT 20) k
         CROSS JOIN LATERAL (
             SELECT r.source_system FROM canonical_records r
             WHERE r.tenant_id = $1 AND r.entity = $2 AND r.id = k.canonical_id OFFSET 0) r
         CROSS JOIN LATERAL (
             SELECT l.unified_id FROM record_links l
             WHERE l.tenant_id = $1 AND l.entity = $2 AND l.canonical_id = k.canonical_id OFFSET 0) l",
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

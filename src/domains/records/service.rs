//! What the API reads of unified records: pages and one record with its members and history,
//! the match review queue, survivorship rules (changes are in `curate`, references in
//! `related`).
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::aggregate::{self, AggregateRequest, AggregateRow};
use super::golden_store;
use super::learn::Model;
use super::learn_store;
use super::model::{HistoryLine, MatchCandidate, MemberRecord, UnifiedRecord};
use super::query::{Fields, Kind};
use super::reads::{self, ListError, ListRequest};
use super::store;
use super::survivorship::{self, Golden, Rules};
use crate::domains::auth::scope::TenantScope;
use crate::domains::ontology::service as ontology;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

/// The entity's fields and kinds; an entity the model lacks is refused by name.
pub async fn fields(tx: &ScopedTx<'_>, entity: &str) -> AppResult<Fields> {
    let model = ontology::load_active(tx).await?;
    let e = model
        .entities
        .iter()
        .find(|e| e.name == entity)
        .ok_or_else(|| {
            AppError::bad_field(
                "entity",
                format!("{entity:?} is not an entity of the canonical model"),
            )
        })?;
    Ok(Fields(
        e.fields
            .iter()
            .map(|f| (f.name.clone(), Kind::of(&f.data_type)))
            .collect(),
    ))
}

pub struct ListPage {
    pub records: Vec<UnifiedRecord>,
    pub has_next: bool,
    pub total: Option<u64>,
}

pub async fn list(
    db: &DatabaseConnection,
    scope: &TenantScope,
    req: ListRequest,
) -> AppResult<ListPage> {
    let tx = ScopedTx::begin(db, scope).await?;
    let fields = fields(&tx, &req.entity).await?;
    let (mut records, total) = reads::list(&tx, &fields, &req).await.map_err(|e| match e {
        ListError::Invalid((field, message)) => AppError::bad_field(field, message),
        ListError::Db(e) => e.into(),
    })?;
    let has_next = records.len() as u64 > req.limit;
    records.truncate(req.limit as usize);
    Ok(ListPage {
        records,
        has_next,
        total,
    })
}

pub async fn get(
    db: &DatabaseConnection,
    scope: &TenantScope,
    entity: &str,
    id: Uuid,
) -> AppResult<Option<UnifiedRecord>> {
    let tx = ScopedTx::begin(db, scope).await?;
    fields(&tx, entity).await?;
    Ok(reads::get(&tx, entity, id).await?)
}

/// The golden values of a unified record with each one's provenance and alternatives, from its
/// members as they are now and the tenant's rules (what the stored values were chosen by).
pub async fn golden(
    db: &DatabaseConnection,
    scope: &TenantScope,
    entity: &str,
    id: Uuid,
) -> AppResult<Golden> {
    let tx = ScopedTx::begin(db, scope).await?;
    let rules = golden_store::rules(&tx, entity).await?;
    let members: Vec<_> = store::members(&tx, entity, &[id], true)
        .await?
        .remove(&id)
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.member)
        .collect();
    Ok(survivorship::golden(&members, &rules))
}

pub async fn members(
    db: &DatabaseConnection,
    scope: &TenantScope,
    entity: &str,
    id: Uuid,
) -> AppResult<Vec<MemberRecord>> {
    let tx = ScopedTx::begin(db, scope).await?;
    Ok(reads::members(&tx, entity, id).await?)
}

pub async fn history(
    db: &DatabaseConnection,
    scope: &TenantScope,
    entity: &str,
    id: Uuid,
    page: PageRequest,
) -> AppResult<Page<HistoryLine>> {
    let tx = ScopedTx::begin(db, scope).await?;
    let rows = reads::history(&tx, entity, id, &page).await?;
    Ok(page.finish(rows, 0))
}

pub async fn candidates(
    db: &DatabaseConnection,
    scope: &TenantScope,
    entity: Option<&str>,
    pending_only: bool,
    page: PageRequest,
) -> AppResult<Page<MatchCandidate>> {
    let tx = ScopedTx::begin(db, scope).await?;
    let (rows, total) = reads::candidates(&tx, entity, pending_only, &page).await?;
    Ok(page.finish(rows, total))
}

/// The two canonical records of a review pair, as they are now.
pub async fn pair(
    db: &DatabaseConnection,
    scope: &TenantScope,
    c: &MatchCandidate,
) -> AppResult<Vec<MemberRecord>> {
    let tx = ScopedTx::begin(db, scope).await?;
    Ok(reads::canonical(&tx, &c.entity, &[c.left_id, c.right_id]).await?)
}

/// What resolution learned of the entity's records, once it has (`learn`).
pub async fn match_model(
    db: &DatabaseConnection,
    scope: &TenantScope,
    entity: &str,
) -> AppResult<Option<(Model, DateTime<Utc>)>> {
    let tx = ScopedTx::begin(db, scope).await?;
    fields(&tx, entity).await?;
    Ok(learn_store::model(&tx, entity).await?)
}

pub async fn rules(db: &DatabaseConnection, scope: &TenantScope, entity: &str) -> AppResult<Rules> {
    let tx = ScopedTx::begin(db, scope).await?;
    fields(&tx, entity).await?;
    Ok(golden_store::rules(&tx, entity).await?)
}

/// Groups of golden values with their measures, and whether more groups were cut.
pub async fn aggregate(
    db: &DatabaseConnection,
    scope: &TenantScope,
    req: AggregateRequest,
) -> AppResult<(Vec<AggregateRow>, bool)> {
    let tx = ScopedTx::begin(db, scope).await?;
    let fields = fields(&tx, &req.entity).await?;
    aggregate::run(&tx, &fields, &req)
        .await?
        .map_err(|(field, message)| AppError::bad_field(field, message))
}

//! The schema observer: each connector's source introspected on its own cadence (no records
//! read), drift recorded, and the connector's drift policy applied. Checks come due per
//! connector and are taken once across processes, as schedule slots are.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

use super::schema_step::{self, FirstSchema, SchemaStep};
use super::service::Pipeline;
use super::store;
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::health as connector_health;
use crate::domains::connectors::service as connectors;
use crate::domains::connectors::source::SourceError;
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;
use crate::text_enum::text_enum;

text_enum! {
    /// What drift does to a connector beyond being recorded.
    pub enum DriftPolicy {
        /// Record only.
        Ignore => "IGNORE",
        /// New fields through proposals, removed fields' mappings deprecated, renamed fields'
        /// mappings carried over.
        Propagate => "PROPAGATE",
        /// Record, and hold the connector's scheduled syncs until a person acknowledges it.
        Pause => "PAUSE",
    }
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct ObserverRow {
    pub connector_id: Uuid,
    pub drift_policy: String,
    pub check_secs: Option<i32>,
    pub next_check_at: DateTime<Utc>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub held_since: Option<DateTime<Utc>>,
    pub held_reason: Option<String>,
}

impl ObserverRow {
    pub fn policy(&self) -> DriftPolicy {
        // Written by this code only (and checked by the table); anything else reads as the default.
        self.drift_policy.parse().unwrap_or(DriftPolicy::Propagate)
    }
}

const COLUMNS: &str = "connector_id, drift_policy, check_secs, next_check_at, last_checked_at, \
     last_error, held_since, held_reason";

fn statement(sql: String, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

pub async fn get(tx: &ScopedTx<'_>, connector: Uuid) -> Result<Option<ObserverRow>, DbErr> {
    ObserverRow::find_by_statement(statement(
        format!(
            "SELECT {COLUMNS} FROM schema_observers WHERE tenant_id = $1 AND connector_id = $2"
        ),
        vec![tx.tenant_id().into(), connector.into()],
    ))
    .one(tx.conn())
    .await
}

/// The connector's policy (PROPAGATE for a connector made before observers existed).
pub async fn policy_of(tx: &ScopedTx<'_>, connector: Uuid) -> Result<DriftPolicy, DbErr> {
    Ok(get(tx, connector)
        .await?
        .map(|o| o.policy())
        .unwrap_or(DriftPolicy::Propagate))
}

/// Sets the policy and cadence; the next check comes one interval from now.
pub async fn configure(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    policy: DriftPolicy,
    check_secs: Option<i32>,
    default_secs: u64,
) -> Result<ObserverRow, DbErr> {
    let every = check_secs.map(i64::from).unwrap_or(default_secs as i64);
    let row = ObserverRow::find_by_statement(statement(
        format!(
            "INSERT INTO schema_observers (tenant_id, connector_id, drift_policy, check_secs, next_check_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
             ON CONFLICT (tenant_id, connector_id) DO UPDATE SET drift_policy = $3, check_secs = $4,
                 next_check_at = now() + make_interval(secs => $5), leased_until = NULL,
                 held_since = CASE WHEN $3 = 'PAUSE' THEN schema_observers.held_since END,
                 held_reason = CASE WHEN $3 = 'PAUSE' THEN schema_observers.held_reason END
             RETURNING {COLUMNS}"
        ),
        vec![
            tx.tenant_id().into(),
            connector.into(),
            policy.as_str().into(),
            check_secs.into(),
            (every as f64).into(),
        ],
    ))
    .one(tx.conn())
    .await?;
    row.ok_or(DbErr::RecordNotInserted)
}

/// Holds the connector's scheduled syncs (PAUSE) after drift, saying what was found; the first
/// reason is kept while held.
pub async fn hold(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    drifts: u64,
    breaking: u64,
) -> Result<(), DbErr> {
    let reason = format!(
        "{drifts} schema change(s), {breaking} breaking: scheduled syncs wait for acknowledgeDrift"
    );
    tx.conn()
        .execute(statement(
            "UPDATE schema_observers SET held_since = coalesce(held_since, now()),
                    held_reason = coalesce(held_reason, $3)
             WHERE tenant_id = $1 AND connector_id = $2"
                .into(),
            vec![tx.tenant_id().into(), connector.into(), reason.into()],
        ))
        .await?;
    Ok(())
}

/// Lifts the hold; false when there was none.
pub async fn release(tx: &ScopedTx<'_>, connector: Uuid) -> Result<bool, DbErr> {
    let done = tx
        .conn()
        .execute(statement(
            "UPDATE schema_observers SET held_since = NULL, held_reason = NULL
             WHERE tenant_id = $1 AND connector_id = $2 AND held_since IS NOT NULL"
                .into(),
            vec![tx.tenant_id().into(), connector.into()],
        ))
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Takes the due check (moving the next one an interval on); false when another process did.
pub async fn take(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    due: DateTime<Utc>,
    default_secs: u64,
) -> Result<bool, DbErr> {
    let done = tx
        .conn()
        .execute(statement(
            "UPDATE schema_observers SET leased_until = NULL,
                    next_check_at = now() + make_interval(secs => coalesce(check_secs, $4))
             WHERE tenant_id = $1 AND connector_id = $2 AND next_check_at = $3"
                .into(),
            vec![
                tx.tenant_id().into(),
                connector.into(),
                due.into(),
                (default_secs as i32).into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() > 0)
}

async fn record_check(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    error: Option<&str>,
) -> Result<(), DbErr> {
    tx.conn()
        .execute(statement(
            "UPDATE schema_observers SET last_checked_at = now(), last_error = $3
             WHERE tenant_id = $1 AND connector_id = $2"
                .into(),
            vec![
                tx.tenant_id().into(),
                connector.into(),
                error.map(str::to_owned).into(),
            ],
        ))
        .await?;
    Ok(())
}

/// What one schema check found, all entities together.
#[derive(Debug, Default, Clone)]
pub struct Check {
    pub entities: u64,
    pub drifts: u64,
    pub breaking: u64,
    pub proposed: u64,
    /// The connector's scheduled syncs are held (PAUSE) after this check.
    pub held: bool,
}

/// The source's answer, its first failure kept in `failed`.
fn answered<T>(failed: &mut Option<String>, r: Result<T, SourceError>) -> AppResult<T> {
    r.map_err(|e| {
        failed.get_or_insert_with(|| e.to_string());
        AppError::from(e)
    })
}

/// Introspects every entity of the connector's source (reading no records), records drift and
/// applies the policy; how the source answered counts towards the connector's health. Skipped (nothing found) while a sync run of the connector is going: the
/// run does the same check itself. An entity never synced is left for its first sync.
pub async fn check(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector_id: Uuid,
) -> AppResult<Check> {
    let (connector, config, policy) = {
        let tx = ScopedTx::begin(&pipeline.db, scope).await?;
        let (connector, config) =
            connectors::find_with_config(&pipeline.connectors, &tx, connector_id)
                .await?
                .ok_or(AppError::NotFound { what: "connector" })?;
        if store::unfinished_job(&tx, connector_id).await?.is_some() {
            return Ok(Check::default());
        }
        (connector, config, policy_of(&tx, connector_id).await?)
    };
    let trace = Uuid::now_v7().simple().to_string();
    // How the source answered (not what we did with it) counts towards its health.
    let mut source_error: Option<String> = None;
    let outcome: AppResult<Check> = async {
        let failed = &mut source_error;
        let opened = pipeline
            .runtime
            .open(scope.tenant_id(), &connector, config)
            .await;
        let source = answered(failed, opened)?;
        let mut found = Check::default();
        for entity in answered(failed, source.entities().await)? {
            let mut schema = answered(failed, source.introspect(&entity).await)?;
            answered(failed, schema.check_text())?;
            let step: SchemaStep = schema_step::apply(
                pipeline,
                scope,
                &connector,
                policy,
                &schema,
                &trace,
                FirstSchema::Leave,
            )
            .await?;
            found.entities += 1;
            found.drifts += step.drifts;
            found.breaking += step.breaking;
            found.proposed += step.proposed;
        }
        Ok(found)
    }
    .await;
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    let error = outcome.as_ref().err().map(|e| e.message());
    record_check(&tx, connector_id, error.as_deref()).await?;
    let health = match (&source_error, &outcome) {
        (Some(e), _) => Some(Err(e.as_str())),
        (None, Ok(_)) => Some(Ok(())),
        // It answered; what failed was ours.
        (None, Err(_)) => None,
    };
    if let Some(health) = health {
        let after = pipeline.settings.sync.failing_after;
        connector_health::record(&tx, connector_id, health, after).await?;
    }
    let held = get(&tx, connector_id)
        .await?
        .is_some_and(|o| o.held_since.is_some());
    tx.commit().await?;
    outcome.map(|found| Check { held, ..found })
}

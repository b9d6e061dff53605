//! Webhook endpoints and deliveries as rows (row-level security on both).
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

use super::model::{Delivery, DeliveryStatus, Endpoint};
use crate::pagination::PageRequest;
use crate::tenancy::ScopedTx;

const ENDPOINT: &str = "id, url, description, event_types, enabled, disabled_reason, \
     consecutive_failures, created_at, updated_at";
const DELIVERY: &str = "id, endpoint_id, event_type, message_id, payload, status, attempts, \
     next_attempt_at, last_status_code, last_error, last_attempt_at, delivered_at, created_at";

fn statement(sql: impl Into<String>, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql.into(), values)
}

pub async fn insert_endpoint(
    tx: &ScopedTx<'_>,
    url: &str,
    description: &str,
    events: &[String],
    sealed: &str,
) -> Result<Endpoint, DbErr> {
    let row = Endpoint::find_by_statement(statement(
        format!(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, secret_sealed)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ENDPOINT}"
        ),
        vec![
            Uuid::now_v7().into(),
            tx.tenant_id().into(),
            url.into(),
            description.into(),
            events.to_vec().into(),
            sealed.into(),
        ],
    ))
    .one(tx.conn())
    .await?;
    row.ok_or(DbErr::RecordNotInserted)
}

pub async fn endpoints(tx: &ScopedTx<'_>) -> Result<Vec<Endpoint>, DbErr> {
    Endpoint::find_by_statement(statement(
        format!("SELECT {ENDPOINT} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id"),
        vec![tx.tenant_id().into()],
    ))
    .all(tx.conn())
    .await
}

pub async fn endpoint(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<Endpoint>, DbErr> {
    Endpoint::find_by_statement(statement(
        format!("SELECT {ENDPOINT} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2"),
        vec![tx.tenant_id().into(), id.into()],
    ))
    .one(tx.conn())
    .await
}

/// Changes what is given; enabling clears the reason it was disabled and its failure count.
pub async fn update_endpoint(
    tx: &ScopedTx<'_>,
    id: Uuid,
    url: Option<&str>,
    description: Option<&str>,
    events: Option<&[String]>,
    enabled: Option<bool>,
) -> Result<Option<Endpoint>, DbErr> {
    Endpoint::find_by_statement(statement(
        format!(
            "UPDATE webhook_endpoints SET url = coalesce($3, url), description = coalesce($4, description),
                    event_types = coalesce($5, event_types), enabled = coalesce($6, enabled),
                    disabled_reason = CASE WHEN $6 THEN NULL ELSE disabled_reason END,
                    consecutive_failures = CASE WHEN $6 THEN 0 ELSE consecutive_failures END,
                    updated_at = now()
             WHERE tenant_id = $1 AND id = $2 RETURNING {ENDPOINT}"
        ),
        vec![
            tx.tenant_id().into(),
            id.into(),
            url.map(str::to_owned).into(),
            description.map(str::to_owned).into(),
            events.map(<[String]>::to_vec).into(),
            enabled.into(),
        ],
    ))
    .one(tx.conn())
    .await
}

pub async fn set_secret(tx: &ScopedTx<'_>, id: Uuid, sealed: &str) -> Result<bool, DbErr> {
    let done = tx
        .conn()
        .execute(statement(
            "UPDATE webhook_endpoints SET secret_sealed = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
            vec![tx.tenant_id().into(), id.into(), sealed.into()],
        ))
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete_endpoint(tx: &ScopedTx<'_>, id: Uuid) -> Result<bool, DbErr> {
    let done = tx
        .conn()
        .execute(statement(
            "DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2",
            vec![tx.tenant_id().into(), id.into()],
        ))
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A delivery of `payload` to each enabled endpoint subscribed to `event_type` (or only to
/// `only`), due now. Returns the deliveries made.
pub async fn enqueue(
    tx: &ScopedTx<'_>,
    event_type: &str,
    payload: &serde_json::Value,
    only: Option<Uuid>,
) -> Result<Vec<Uuid>, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: Uuid,
    }
    let subscribed = Id::find_by_statement(statement(
        "SELECT id FROM webhook_endpoints
         WHERE tenant_id = $1 AND ($3::uuid IS NULL OR id = $3)
           AND ($3::uuid IS NOT NULL OR (enabled AND $2 = ANY(event_types)))",
        vec![tx.tenant_id().into(), event_type.into(), only.into()],
    ))
    .all(tx.conn())
    .await?;
    let mut made = Vec::with_capacity(subscribed.len());
    for endpoint in subscribed {
        let id = Uuid::now_v7();
        tx.conn()
            .execute(statement(
                "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_type, message_id, payload, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $6, now())",
                vec![
                    id.into(),
                    tx.tenant_id().into(),
                    endpoint.id.into(),
                    event_type.into(),
                    format!("msg_{}", id.simple()).into(),
                    payload.clone().into(),
                ],
            ))
            .await?;
        made.push(id);
    }
    Ok(made)
}

pub async fn delivery_page(
    tx: &ScopedTx<'_>,
    endpoint: Uuid,
    page: &PageRequest,
) -> Result<(Vec<Delivery>, u64), DbErr> {
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let total = Count::find_by_statement(statement(
        "SELECT count(*) AS n FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2",
        vec![tx.tenant_id().into(), endpoint.into()],
    ))
    .one(tx.conn())
    .await?
    .map_or(0, |c| c.n as u64);
    let rows = Delivery::find_by_statement(statement(
        format!(
            "SELECT {DELIVERY} FROM webhook_deliveries
             WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3::uuid IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4"
        ),
        vec![
            tx.tenant_id().into(),
            endpoint.into(),
            page.after.into(),
            (page.fetch_limit() as i64).into(),
        ],
    ))
    .all(tx.conn())
    .await?;
    Ok((rows, total))
}

pub async fn delivery(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<Delivery>, DbErr> {
    Delivery::find_by_statement(statement(
        format!("SELECT {DELIVERY} FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2"),
        vec![tx.tenant_id().into(), id.into()],
    ))
    .one(tx.conn())
    .await
}

/// Where and how a delivery is sent: its endpoint's URL, sealed secret and whether it is on.
#[derive(Debug, FromQueryResult)]
pub struct Target {
    pub url: String,
    pub secret_sealed: String,
    pub enabled: bool,
}

pub async fn target(tx: &ScopedTx<'_>, endpoint: Uuid) -> Result<Option<Target>, DbErr> {
    Target::find_by_statement(statement(
        "SELECT url, secret_sealed, enabled FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().into(), endpoint.into()],
    ))
    .one(tx.conn())
    .await
}

/// What one attempt came to.
pub struct Attempt<'a> {
    pub status_code: Option<u16>,
    pub error: Option<&'a str>,
    /// None: no more attempts (delivered, or given up).
    pub next_at: Option<DateTime<Utc>>,
    pub delivered: bool,
}

/// Stores the attempt; counts the endpoint's failures in a row (a success resets them) and
/// disables it at `disable_after`, failing what it still had pending. Returns whether the
/// endpoint was disabled by this attempt.
pub async fn record_attempt(
    tx: &ScopedTx<'_>,
    delivery: &Delivery,
    attempt: &Attempt<'_>,
    disable_after: u32,
) -> Result<bool, DbErr> {
    let status = match (attempt.delivered, attempt.next_at) {
        (true, _) => DeliveryStatus::Delivered,
        (false, Some(_)) => DeliveryStatus::Pending,
        (false, None) => DeliveryStatus::Failed,
    };
    tx.conn()
        .execute(statement(
            "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, next_attempt_at = $4,
                    leased_until = NULL, last_status_code = $5, last_error = $6, last_attempt_at = now(),
                    delivered_at = CASE WHEN $3 = 'DELIVERED' THEN now() END
             WHERE tenant_id = $1 AND id = $2",
            vec![
                tx.tenant_id().into(),
                delivery.id.into(),
                status.as_str().into(),
                attempt.next_at.into(),
                attempt.status_code.map(i32::from).into(),
                attempt.error.map(str::to_owned).into(),
            ],
        ))
        .await?;
    #[derive(FromQueryResult)]
    struct Failures {
        consecutive_failures: i32,
    }
    let failures = Failures::find_by_statement(statement(
        "UPDATE webhook_endpoints SET consecutive_failures =
                CASE WHEN $3 THEN 0 ELSE consecutive_failures + 1 END
         WHERE tenant_id = $1 AND id = $2 RETURNING consecutive_failures",
        vec![
            tx.tenant_id().into(),
            delivery.endpoint_id.into(),
            attempt.delivered.into(),
        ],
    ))
    .one(tx.conn())
    .await?
    .map_or(0, |f| f.consecutive_failures);
    if attempt.delivered || (failures as u32) < disable_after {
        return Ok(false);
    }
    let reason = format!("disabled after {failures} failed attempts in a row");
    let disabled = tx
        .conn()
        .execute(statement(
            "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = now()
             WHERE tenant_id = $1 AND id = $2 AND enabled",
            vec![
                tx.tenant_id().into(),
                delivery.endpoint_id.into(),
                reason.clone().into(),
            ],
        ))
        .await?
        .rows_affected()
        > 0;
    fail_pending(
        tx,
        delivery.endpoint_id,
        &format!("the endpoint was {reason}"),
    )
    .await?;
    Ok(disabled)
}

/// Gives up what the endpoint still had pending (it was disabled).
pub async fn fail_pending(tx: &ScopedTx<'_>, endpoint: Uuid, why: &str) -> Result<(), DbErr> {
    tx.conn()
        .execute(statement(
            "UPDATE webhook_deliveries SET status = 'FAILED', next_attempt_at = NULL, last_error = $3
             WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'PENDING'",
            vec![tx.tenant_id().into(), endpoint.into(), why.into()],
        ))
        .await?;
    Ok(())
}

/// Items waiting for a person: mapping proposals and match pairs.
pub async fn waiting_for_review(tx: &ScopedTx<'_>) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    Ok(Count::find_by_statement(statement(
        "SELECT (SELECT count(*) FROM mapping_reviews WHERE tenant_id = $1 AND status = 'PENDING')
              + (SELECT count(*) FROM match_candidates WHERE tenant_id = $1 AND status = 'PENDING') AS n",
        vec![tx.tenant_id().into()],
    ))
    .one(tx.conn())
    .await?
    .map_or(0, |c| c.n))
}

//! Work that comes due per connector (schedule slots, schema checks), found for every tenant
//! at once and leased to one process for a while, so two processes do not both work a row out.
//! Taking the row for good is the caller's, under the row's own tenant.
use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

use super::model::RowTenant;

/// What comes due.
#[derive(Debug, Clone, Copy)]
pub enum Due {
    /// A sync schedule's slot (`sync_schedules.next_run_at`).
    SyncSlot,
    /// A schema observer's check (`schema_observers.next_check_at`).
    SchemaCheck,
    /// A webhook delivery's next attempt (`webhook_deliveries.next_attempt_at`).
    WebhookDelivery,
}

/// A due row leased to this process; its tenant read from the row.
#[derive(Debug, Clone)]
pub struct DueRow {
    pub tenant: RowTenant,
    /// The connector whose slot or check is due, or the delivery.
    pub subject: Uuid,
    /// When it came due (the value the caller takes it by).
    pub at: DateTime<Utc>,
}

/// Due rows of any tenant, each leased to the caller for `lease_secs` (rows another process
/// holds are skipped; a SECURITY DEFINER function, no tenant scope).
pub async fn lease(
    db: &sea_orm::DatabaseConnection,
    due: Due,
    lease_secs: u64,
    limit: u32,
) -> Result<Vec<DueRow>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        tenant_id: Uuid,
        subject: Uuid,
        at: DateTime<Utc>,
    }
    let sql = match due {
        Due::SyncSlot => {
            "SELECT tenant_id, connector_id AS subject, next_run_at AS at FROM lease_due_schedules(make_interval(secs => $1), $2)"
        }
        Due::SchemaCheck => {
            "SELECT tenant_id, connector_id AS subject, next_check_at AS at FROM lease_due_schema_checks(make_interval(secs => $1), $2)"
        }
        Due::WebhookDelivery => {
            "SELECT tenant_id, id AS subject, next_attempt_at AS at FROM lease_due_deliveries(make_interval(secs => $1), $2)"
        }
    };
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [(lease_secs as f64).into(), (limit as i32).into()],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DueRow {
            tenant: RowTenant::of(r.tenant_id),
            subject: r.subject,
            at: r.at,
        })
        .collect())
}

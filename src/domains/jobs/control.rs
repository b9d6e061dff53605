//! What a person may do to a job of any kind: ask it to stop.
use uuid::Uuid;

use super::model::JobType;
use super::store;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

/// Asks job `id` of `kind` to stop, audited: a queued job at once, a running one at its next
/// checkpoint. NOT_FOUND when the tenant has no such job, CONFLICT when it has finished.
pub async fn cancel(tx: &ScopedTx<'_>, id: Uuid, kind: JobType) -> AppResult<()> {
    let (what, target, action) = kind.names();
    let job = store::find(tx, id, kind)
        .await?
        .ok_or(AppError::NotFound { what })?;
    let by = tx.scope().actor().label();
    if !store::request_cancel(tx, id, kind, &by).await? {
        return Err(AppError::Conflict(format!(
            "the {what} has finished ({})",
            job.status
        )));
    }
    audit::record(tx, AuditEntry::new(action, target, id)).await?;
    Ok(())
}

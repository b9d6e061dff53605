//! The rows of a bulk proposal job's results: one per field, by its position in the job.
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use uuid::Uuid;

use super::Proposal;
use crate::pagination::PageRequest;
use crate::tenancy::ScopedTx;

/// Stores what the fields from position `from` on became (a chunk resumed elsewhere after its
/// rollback writes the same positions afresh, never twice).
pub(super) async fn insert_results(
    tx: &ScopedTx<'_>,
    job: Uuid,
    from: usize,
    proposals: &[Proposal],
) -> Result<(), DbErr> {
    let positions: Vec<i32> = (from..from + proposals.len()).map(|p| p as i32).collect();
    let bodies: Vec<serde_json::Value> = proposals
        .iter()
        .map(|p| serde_json::to_value(p).map_err(|e| DbErr::Custom(e.to_string())))
        .collect::<Result<_, _>>()?;
    tx.conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO proposal_job_items (tenant_id, job_id, position, proposal)
             SELECT $1, $2, p, b FROM unnest($3::int[], $4::jsonb[]) AS t(p, b)",
            [
                tx.tenant_id().into(),
                job.into(),
                positions.into(),
                bodies.into(),
            ],
        ))
        .await?;
    Ok(())
}

/// A page of results after the cursor's position (cursors carry positions), with the total.
pub(super) async fn results_page(
    tx: &ScopedTx<'_>,
    job: Uuid,
    page: &PageRequest,
) -> Result<(Vec<(u32, Proposal)>, u64), DbErr> {
    let after = page.after.map_or(-1, position_of);
    let rows = tx
        .conn()
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT position, proposal FROM proposal_job_items
             WHERE tenant_id = $1 AND job_id = $2 AND position > $3
             ORDER BY position LIMIT $4",
            [
                tx.tenant_id().into(),
                job.into(),
                after.into(),
                (page.fetch_limit() as i64).into(),
            ],
        ))
        .await?;
    let total = tx
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM proposal_job_items WHERE tenant_id = $1 AND job_id = $2",
            [tx.tenant_id().into(), job.into()],
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    let items = rows
        .into_iter()
        .map(|r| {
            let position: i32 = r.try_get("", "position")?;
            let body: serde_json::Value = r.try_get("", "proposal")?;
            let proposal = serde_json::from_value(body)
                .map_err(|e| DbErr::Custom(format!("a stored proposal cannot be read: {e}")))?;
            Ok((position as u32, proposal))
        })
        .collect::<Result<_, DbErr>>()?;
    Ok((items, total as u64))
}

/// A result's position as a page cursor (cursors are opaque ids to clients).
pub fn cursor_of(position: u32) -> Uuid {
    Uuid::from_u128(u128::from(position))
}

fn position_of(cursor: Uuid) -> i64 {
    i64::try_from(cursor.as_u128()).unwrap_or(i64::MAX)
}

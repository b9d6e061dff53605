//! DuckDB for analytics and exports: an in-process engine per job, run on the blocking pool
//! (its work is CPU-heavy and its API synchronous).
use duckdb::Connection;

/// A fresh in-memory DuckDB (nothing shared between tenants or jobs).
pub fn open() -> duckdb::Result<Connection> {
    Connection::open_in_memory()
}

/// Runs CPU-heavy DuckDB work off the async executor.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || {
        let conn = open()?;
        work(&conn)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn duckdb_writes_and_reads_parquet_and_csv() {
        let dir = std::env::temp_dir().join(format!("duckdb-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let parquet = dir.join("t.parquet");
        let csv = dir.join("t.csv");
        let (p, c) = (parquet.clone(), csv.clone());
        let n: i64 = run(move |db| {
            db.execute_batch(&format!(
                "CREATE TABLE t AS SELECT range AS id, 'row ' || range AS name FROM range(1000);
                 COPY t TO '{}' (FORMAT PARQUET);
                 COPY t TO '{}' (FORMAT CSV, HEADER);",
                p.display(),
                c.display()
            ))?;
            Ok(db.query_row(
                &format!("SELECT count(*) FROM read_parquet('{}')", p.display()),
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
        assert_eq!(n, 1000);
        assert!(std::fs::read_to_string(&csv)
            .unwrap()
            .starts_with("id,name\n0,row 0\n"));
    }
}

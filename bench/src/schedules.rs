//! Schedules at scale: 1,000 connectors (10 tenants × 100) on 1-minute schedules, run by two
//! `autonomos worker` processes beside an API-only `serve`, for `--seconds` (600 by default).
//! Each connector is synced once during set-up, so the window measured is the steady state.
//! Counted afterwards from the database: runs per slot (duplicates must be 0), slots with no
//! run (missed must be 0), and how late each run was queued after its slot (p50/p95/p99/max).
//! Reference in the same run: a tokio timer in this process woken at the same slots (the
//! lateness the machine itself adds).
use std::path::PathBuf;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use serde_json::json;
use tokio::process::{Child, Command};

use super::proposals::tenant;
use super::server::{fresh_database, rss_kib, Server, Services};
use super::{arg, Client};

const TENANTS: usize = 10;
const PER_TENANT: usize = 100;
const INTERVAL_SECS: i64 = 60;

fn worker() -> anyhow::Result<Child> {
    let bin = std::env::current_exe()?
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no bin dir"))?
        .join("autonomos");
    Ok(Command::new(bin)
        .arg("worker")
        .env("RUST_LOG", "warn")
        // The benchmarks run under the test settings, where nothing ticks by itself.
        .env("AUTONOMOS__WORKERS__TICK_MILLIS", "1000")
        .env("AUTONOMOS__DATABASE__MAX_CONNECTIONS", "32")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[derive(FromQueryResult)]
struct Taken {
    connector_id: uuid::Uuid,
    slot: chrono::DateTime<chrono::Utc>,
    runs: i64,
    late_ms: f64,
}

pub async fn run(out: PathBuf) -> anyhow::Result<()> {
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(600);
    fresh_database("autonomos_bench_schedules").await?;
    // The API process runs its own requests' syncs (the first sync of each connector, made
    // during set-up so the measured window is the steady state) but never ticks (the test
    // settings): only the two workers start scheduled runs.
    let server = Server::start(&[
        ("LIMITS__WRITES_PER_MINUTE", "1000000".into()),
        ("DATABASE__MAX_CONNECTIONS", "32".into()),
    ])
    .await?;
    let client = std::sync::Arc::new(Client::new(&server));
    let http = reqwest::Client::new();
    println!(
        "schedules: creating and syncing {} connectors",
        TENANTS * PER_TENANT
    );
    let mut tokens = Vec::new();
    for _ in 0..TENANTS {
        let token = tenant(&client).await?;
        let put = http
            .put(format!("{}/uploads/schedules.csv", server.base_url()))
            .bearer_auth(&token)
            .body("id,Account Name,Website\n1,Acme,acme.test\n")
            .send()
            .await?;
        anyhow::ensure!(put.status().is_success(), "upload: {}", put.status());
        tokens.push(token);
    }
    let mut setups = Vec::new();
    for token in tokens.clone() {
        let client = client.clone();
        setups.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..PER_TENANT {
                let made = client
                    .call(
                        "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }",
                        json!({ "i": { "name": format!("scheduled-{n}"), "kind": "CSV",
                                       "config": { "path": "uploads/schedules.csv", "idColumn": "id" } } }),
                        Some(&token),
                    )
                    .await?;
                let id = made["createConnector"]["id"].as_str().unwrap_or_default().to_owned();
                client
                    .call(
                        "mutation($c: ID!) { syncConnector(id: $c, wait: true) { status } }",
                        json!({ "c": id }),
                        Some(&token),
                    )
                    .await?;
                ids.push(id);
            }
            anyhow::Ok((token, ids))
        }));
    }
    let mut made = Vec::new();
    for s in setups {
        made.push(s.await??);
    }
    println!("schedules: setting 1-minute schedules, then two workers for {seconds} s");
    for (token, ids) in &made {
        for id in ids {
            client
                .call(
                    "mutation($c: ID!) { setSyncSchedule(connectorId: $c, schedule: { intervalSeconds: 60 }) { nextRunAt } }",
                    json!({ "c": id }),
                    Some(token),
                )
                .await?;
        }
    }
    let workers = [worker()?, worker()?];
    let pids: Vec<u32> = workers.iter().filter_map(Child::id).collect();
    let started = chrono::Utc::now();
    // The reference: this process's own timer, woken at the same kind of slots.
    let reference = tokio::spawn(async move {
        let mut late = Vec::new();
        let until = tokio::time::Instant::now() + Duration::from_secs(seconds);
        let mut next = tokio::time::Instant::now() + Duration::from_millis(500);
        while next < until {
            tokio::time::sleep_until(next).await;
            late.push(next.elapsed().as_secs_f64() * 1000.0);
            next += Duration::from_millis(600);
        }
        late
    });
    let mut peak_rss = vec![0u64; pids.len()];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(5)).await;
        for (i, pid) in pids.iter().enumerate() {
            peak_rss[i] = peak_rss[i].max(rss_kib(*pid));
        }
    }
    let ended = chrono::Utc::now();
    drop(workers);
    let mut timer = reference.await?;
    timer.sort_by(f64::total_cmp);

    let services = Services::load()?;
    let owner_url = std::env::var("AUTONOMOS__DATABASE__MIGRATION_URL")
        .unwrap_or(services.database.migration_url.clone());
    let owner = sea_orm::Database::connect(owner_url).await?;
    let taken = Taken::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT connector_id, (payload->>'slot')::timestamptz AS slot, count(*) AS runs,
                min(extract(epoch FROM created_at - (payload->>'slot')::timestamptz) * 1000)::float8 AS late_ms
         FROM jobs WHERE kind = 'SYNC' AND payload ? 'slot'
         GROUP BY 1, 2",
    ))
    .all(&owner)
    .await?;
    #[derive(FromQueryResult)]
    struct Grid {
        set_at: chrono::DateTime<chrono::Utc>,
        next_run_at: chrono::DateTime<chrono::Utc>,
    }
    // Each schedule's slots keep to one grid (a minute apart from its first, a minute after it
    // was set): those from the first to 5 s before the end were due.
    let grids = Grid::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT created_at AS set_at, next_run_at FROM sync_schedules WHERE next_run_at IS NOT NULL",
    ))
    .all(&owner)
    .await?;
    let statuses = owner
        .query_all(Statement::from_string(
            DbBackend::Postgres,
            "SELECT status, count(*) AS n FROM jobs WHERE payload ? 'slot' GROUP BY status ORDER BY status",
        ))
        .await?
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.try_get::<String>("", "status").unwrap_or_default(),
                r.try_get::<i64>("", "n").unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let cutoff = ended - chrono::Duration::seconds(5);
    let step = chrono::Duration::seconds(INTERVAL_SECS);
    let mut expected = 0i64;
    for g in &grids {
        let mut slot = g.next_run_at - step;
        while slot >= g.set_at + chrono::Duration::seconds(INTERVAL_SECS / 2) {
            if slot <= cutoff {
                expected += 1;
            }
            slot -= step;
        }
    }
    let in_window: Vec<&Taken> = taken.iter().filter(|t| t.slot <= cutoff).collect();
    let duplicates: i64 = taken.iter().map(|t| t.runs - 1).sum();
    let missed = (expected - in_window.len() as i64).max(0);
    let mut late: Vec<f64> = taken.iter().map(|t| t.late_ms).collect();
    late.sort_by(f64::total_cmp);
    let connectors_with_runs = taken
        .iter()
        .map(|t| t.connector_id)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let md = format!(
        "# Schedules: {} connectors on 1-minute schedules, two worker processes, {seconds} s\n\n\
         | | value |\n|---|---|\n\
         | slots due (expected) | {expected} |\n| runs started | {} |\n| duplicates (must be 0) | {duplicates} |\n\
         | missed slots (must be 0) | {missed} |\n| connectors that ran | {connectors_with_runs} |\n\
         | run outcomes | {statuses} |\n\
         | lateness p50 / p95 / p99 / max (ms) | {:.0} / {:.0} / {:.0} / {:.0} |\n\
         | reference: tokio timer lateness p50 / p99 / max (ms) | {:.1} / {:.1} / {:.1} |\n\
         | worker peak RSS (MiB) | {} |\n\
         | window | {started} → {ended} |\n",
        TENANTS * PER_TENANT,
        taken.len(),
        pct(&late, 0.50),
        pct(&late, 0.95),
        pct(&late, 0.99),
        late.last().copied().unwrap_or(0.0),
        pct(&timer, 0.50),
        pct(&timer, 0.99),
        timer.last().copied().unwrap_or(0.0),
        peak_rss
            .iter()
            .map(|k| format!("{:.0}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(" / "),
    );
    println!("{md}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("schedules.md"), &md)?;
    std::fs::write(
        out.join("schedules.json"),
        serde_json::to_string_pretty(&json!({
            "connectors": TENANTS * PER_TENANT, "seconds": seconds, "expected": expected,
            "runs": taken.len(), "duplicates": duplicates, "missed": missed,
            "late_ms": { "p50": pct(&late, 0.50), "p95": pct(&late, 0.95), "p99": pct(&late, 0.99),
                         "max": late.last() },
            "reference_timer_ms": { "p50": pct(&timer, 0.50), "p99": pct(&timer, 0.99), "max": timer.last() },
            "worker_peak_rss_kib": peak_rss, "outcomes": statuses,
        }))?,
    )?;
    drop(server);
    anyhow::ensure!(
        duplicates == 0 && missed == 0,
        "duplicates {duplicates}, missed {missed}"
    );
    Ok(())
}

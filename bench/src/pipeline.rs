//! Pipeline throughput: a CSV of `--rows` rows (default 1,000,000) × 25 columns through a whole
//! sync run (introspection, proposals, coercion, canonical events and records with lineage),
//! next to the raw CSV parse rate of the same file, with the server process's peak memory. The
//! file reaches the server the way a user's does: `PUT /uploads/<name>.csv`.
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::proposals::tenant;
use super::server::Server;
use super::{arg, Client};

const COLUMNS: [&str; 25] = [
    "id",
    "Account Name",
    "Website",
    "Industry",
    "Annual Revenue",
    "Employees",
    "Phone",
    "Billing Street",
    "Billing City",
    "Billing State",
    "Billing Postal Code",
    "Billing Country",
    "Description",
    "Account Owner",
    "Created Date",
    "Last Modified Date",
    "Type",
    "Rating",
    "Ticker Symbol",
    "Fax",
    "SLA Expiry",
    "Upsell Opportunity",
    "Customer Priority",
    "Active",
    "Region Code",
];

fn row(i: u64) -> String {
    let cities = ["Oslo", "Lyon", "Austin", "Pune", "Osaka"];
    let city = cities[(i % 5) as usize];
    format!(
        "{i},Company {i},company{i}.test,Manufacturing,{},{},+1 555 {:04},{} Main St,{city},ST,{:05},Norway,\
         \"Account {i}, a customer since {}\",owner{},2024-01-{:02} 10:00:00,2024-02-{:02}T10:00:00Z,Customer,Hot,\
         TCK{},+1 555 9{:03},2025-12-31,Yes,High,true,R{}",
        (i * 37) % 10_000_000,
        i % 5000,
        i % 10_000,
        i % 999,
        i % 100_000,
        2000 + i % 24,
        i % 50,
        1 + i % 28,
        1 + i % 28,
        i % 1000,
        i % 1000,
        i % 10,
    )
}

pub async fn run(out: PathBuf) -> anyhow::Result<()> {
    let rows: u64 = arg("--rows")
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join("autonomos-bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("accounts-{rows}.csv"));
    if !file.exists() {
        let started = Instant::now();
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        writeln!(w, "{}", COLUMNS.join(","))?;
        for i in 1..=rows {
            writeln!(w, "{}", row(i))?;
        }
        w.flush()?;
        println!(
            "wrote {} in {:.1} s",
            file.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let bytes = std::fs::metadata(&file)?.len();

    // The same file through the CSV parser alone.
    let parse_started = Instant::now();
    let mut reader = csv::ReaderBuilder::new().from_path(&file)?;
    let mut record = csv::ByteRecord::new();
    let mut parsed = 0u64;
    while reader.read_byte_record(&mut record)? {
        parsed += 1;
    }
    let parse_rate = parsed as f64 / parse_started.elapsed().as_secs_f64();

    let server = Server::start(&[
        ("SYNC__BATCH_SIZE", "1000".into()),
        ("UPLOADS__MAX_BYTES", (bytes + 1).to_string()),
    ])
    .await?;
    let client = Arc::new(Client::new(&server));
    let token = tenant(&client).await?;
    let uploaded = upload(&server, &token, &file, &format!("accounts-{rows}.csv")).await?;
    let connector = client
        .call(
            "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }",
            json!({ "i": { "name": "bench-csv", "kind": "CSV", "config": { "path": uploaded, "entity": "accounts", "idColumn": "id" } } }),
            Some(&token),
        )
        .await?["createConnector"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let started = Instant::now();
    let finished = sync_to_end(
        &client,
        &token,
        &connector,
        "recordsRead eventsWritten quarantined valueErrors autoApplied fieldsProposed",
        Duration::from_millis(500),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let read = finished["counts"]["recordsRead"].as_u64().unwrap_or(0);
    let rate = read as f64 / seconds;
    let peak = server.peak_rss_kib() as f64 / 1024.0;
    let when = chrono::Utc::now().to_rfc3339();
    let md = format!(
        "# Pipeline benchmark\n\n{when} · release build · 2 cores · app, driver, PostgreSQL and Redis share the machine\n\n\
         | measure | value |\n|---|---:|\n\
         | CSV | {rows} rows × 25 columns, {:.0} MiB |\n\
         | run status | {} |\n\
         | records through the whole pipeline | {read} in {seconds:.1} s |\n\
         | **records/second end to end** | **{rate:.0}** |\n\
         | canonical events written | {} |\n\
         | fields proposed / auto-applied | {} / {} |\n\
         | values that did not fit their type | {} |\n\
         | raw CSV parse of the same file | {parse_rate:.0} rows/s |\n\
         | peak memory (server process) | {peak:.0} MiB |\n",
        bytes as f64 / (1024.0 * 1024.0),
        finished["status"].as_str().unwrap_or_default(),
        finished["counts"]["eventsWritten"],
        finished["counts"]["fieldsProposed"],
        finished["counts"]["autoApplied"],
        finished["counts"]["valueErrors"],
    );
    print!("{md}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("pipeline.md"), &md)?;
    std::fs::write(
        out.join("pipeline.json"),
        serde_json::to_string_pretty(&json!({
            "at": when, "rows": rows, "columns": 25, "bytes": bytes, "status": finished["status"],
            "seconds": seconds, "records_per_second": rate, "raw_parse_rows_per_second": parse_rate,
            "peak_rss_mib": peak, "counts": finished["counts"], "errors": finished["errors"],
        }))?,
    )?;
    Ok(())
}

/// Starts a sync of the connector and polls it every `poll` until it ends; returns the run with
/// these `counts` fields and its errors.
pub(crate) async fn sync_to_end(
    client: &Client,
    token: &str,
    connector: &str,
    counts: &str,
    poll: Duration,
) -> anyhow::Result<Value> {
    let run = client
        .call(
            "mutation($id: ID!) { syncConnector(id: $id) { id } }",
            json!({ "id": connector }),
            Some(token),
        )
        .await?["syncConnector"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    loop {
        tokio::time::sleep(poll).await;
        let r = client
            .call(
                &format!(
                    "query($id: ID!) {{ syncRun(id: $id) {{ status counts {{ {counts} }} errors {{ message }} }} }}"
                ),
                json!({ "id": run }),
                Some(token),
            )
            .await?;
        if !matches!(r["syncRun"]["status"].as_str(), Some("QUEUED" | "RUNNING")) {
            return Ok(r["syncRun"].clone());
        }
    }
}

/// Sends the file as a user would (`PUT /uploads/<name>.csv`, streamed); returns its path for a
/// connector's config.
pub(crate) async fn upload(
    server: &Server,
    token: &str,
    file: &std::path::Path,
    name: &str,
) -> anyhow::Result<String> {
    let started = Instant::now();
    let body = tokio::fs::File::open(file).await?;
    let length = body.metadata().await?.len();
    let stream = tokio_util::io::ReaderStream::with_capacity(body, 1 << 20);
    let response = reqwest::Client::new()
        .put(format!("{}/uploads/{name}", server.base_url()))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_LENGTH, length)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await?;
    let status = response.status();
    let reply: serde_json::Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "upload refused ({status}): {reply}");
    println!(
        "uploaded {name} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    reply["path"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the upload reply names no path: {reply}"))
}

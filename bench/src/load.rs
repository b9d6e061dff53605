//! Sustained mixed load: the release server as its own process, 16 concurrent clients spread
//! over 10 tenants for `--seconds` (default 600): 85 % reads (mappings, lineage grid, review
//! queue, connectors + usage, canonical events) and 15 % `proposeMappings` (five fields each,
//! names varied so exact-cache hits, vector search and new reviews all occur). Reports
//! throughput, p50/p95/p99, errors by code, and per minute the rates, latencies and the server's
//! resident memory. Results: stdout and `<out>/load.{json,md}`.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::proposals::tenant;
use super::server::{rss_kib, Server};
use super::{arg, Client};

const TENANTS: usize = 10;
const CLIENTS: usize = 16;
const ROWS: usize = 2000;

/// (name, share in percent, mutation?)
const MIX: &[(&str, usize)] = &[
    ("mappings", 30),
    ("lineageGrid", 20),
    ("reviewQueue", 15),
    ("connectors+usage", 10),
    ("canonicalEvents", 10),
    ("proposeMappings", 15),
];

const NAMES: &[&str] = &[
    "Account Name",
    "Website",
    "Annual Revenue",
    "Industry",
    "Phone",
    "Billing City",
    "Billing Country",
    "Employees",
    "Owner Email",
    "Created Date",
    "Lead Source",
    "Stage",
    "Close Date",
    "Amount",
    "First Name",
    "Last Name",
    "Job Title",
    "Mobile",
    "Postal Code",
    "Street",
];

fn query_for(op: &str, i: usize) -> (String, Value) {
    match op {
        "mappings" => ("{ mappings(first: 20) { totalCount edges { node { id sourceField canonicalField status } } } }".into(), json!({})),
        "lineageGrid" => ("query($s: LineageSort) { lineageGrid(first: 50, sort: $s) { totalCount edges { node { id sourceField canonicalField confidence successRate } } } }".into(),
            json!({ "s": { "column": "CONFIDENCE", "direction": "DESC" } })),
        "reviewQueue" => ("{ reviewQueue(first: 20) { totalCount edges { node { id sourceField confidence } } } }".into(), json!({})),
        "connectors+usage" => ("{ connectors { totalCount edges { node { id name status } } } usage { proposalsThisMonth { used } } }".into(), json!({})),
        "canonicalEvents" => ("{ canonicalEvents(first: 20) { totalCount edges { node { id entity data } } } }".into(), json!({})),
        _ => {
            // Field names repeat across calls (cache hits) with a varying suffix every 7th
            // call (new names: vector search, new reviews).
            let fields: Vec<Value> = (0..5)
                .map(|k| {
                    let base = NAMES[(i * 5 + k) % NAMES.len()];
                    let name = if i % 7 == 0 { format!("{base} {}", i % 500) } else { base.to_owned() };
                    json!({ "name": name, "samples": ["x"] })
                })
                .collect();
            (
                "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { canonicalField status } } }".into(),
                json!({ "i": { "sourceSystem": format!("load-{}", i % 20), "sourceEntity": "accounts", "fields": fields } }),
            )
        }
    }
}

fn pick(i: usize) -> &'static str {
    let mut slot = (i * 37) % 100;
    for (name, share) in MIX {
        if slot < *share {
            return name;
        }
        slot -= share;
    }
    MIX[0].0
}

#[derive(Default)]
struct Minute {
    latencies_us: Vec<u64>,
    errors: usize,
    rss_kib: Vec<u64>,
}

#[derive(Default)]
struct Tally {
    per_op: BTreeMap<&'static str, (Vec<u64>, usize)>,
    minutes: BTreeMap<u64, Minute>,
    error_codes: BTreeMap<String, usize>,
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}

async fn seed(client: &Client, http: &reqwest::Client, base: &str) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::new();
    let mut csv = String::from("id,Account Name,Website,Annual Revenue,Industry,Phone\n");
    for r in 0..ROWS {
        csv.push_str(&format!(
            "{r},Company {r},c{r}.test,{},Energy,+1 555 {r:04}\n",
            1000 * r
        ));
    }
    for _ in 0..TENANTS {
        let token = tenant(client).await?;
        let put = http
            .put(format!("{base}/uploads/accounts.csv"))
            .bearer_auth(&token)
            .body(csv.clone())
            .send()
            .await?;
        anyhow::ensure!(put.status().is_success(), "upload: {}", put.status());
        let connector = client
            .call(
                "mutation { createConnector(input: { name: \"crm\", kind: CSV, config: { path: \"uploads/accounts.csv\", idColumn: \"id\" } }) { id } }",
                json!({}),
                Some(&token),
            )
            .await?;
        let id = connector["createConnector"]["id"].clone();
        client
            .call(
                "mutation($id: ID!) { syncConnector(id: $id, wait: true) { status } }",
                json!({ "id": id }),
                Some(&token),
            )
            .await?;
        tokens.push(token);
    }
    Ok(tokens)
}

pub async fn run(out: PathBuf) -> anyhow::Result<()> {
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(600);
    let mut server = Server::start(&[]).await?;
    let pid = server.pid();
    let base = server.base_url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()?;
    let client = Arc::new(Client {
        http: http.clone(),
        url: format!("{base}/graphql"),
    });
    let tokens = Arc::new(seed(&client, &http, &base).await?);
    println!(
        "seeded {TENANTS} tenants × {ROWS} records; load for {seconds} s with {CLIENTS} clients"
    );

    let tally = Arc::new(Mutex::new(Tally::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let sampler = {
        let (tally, stop) = (tally.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let minute = started.elapsed().as_secs() / 60;
                let rss = rss_kib(pid);
                if let Ok(mut t) = tally.lock() {
                    t.minutes.entry(minute).or_default().rss_kib.push(rss);
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        })
    };
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (http, tally, next, stop, tokens, url) = (
            http.clone(),
            tally.clone(),
            next.clone(),
            stop.clone(),
            tokens.clone(),
            client.url.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let op = pick(i);
                let (query, variables) = query_for(op, i);
                let token = &tokens[i % tokens.len()];
                let t = Instant::now();
                let sent = http
                    .post(&url)
                    .bearer_auth(token)
                    .json(&json!({ "query": query, "variables": variables }))
                    .send()
                    .await;
                let error: Option<String> = match sent {
                    Err(e) => Some(format!("HTTP: {e}")),
                    Ok(resp) if !resp.status().is_success() => {
                        Some(format!("HTTP {}", resp.status().as_u16()))
                    }
                    Ok(resp) => match resp.json::<Value>().await {
                        Err(e) => Some(format!("body: {e}")),
                        Ok(body) => body.get("errors").map(|e| {
                            e[0]["extensions"]["code"]
                                .as_str()
                                .unwrap_or("UNCODED")
                                .to_owned()
                        }),
                    },
                };
                let us = t.elapsed().as_micros() as u64;
                let minute = started.elapsed().as_secs() / 60;
                if let Ok(mut tally) = tally.lock() {
                    let entry = tally.per_op.entry(op).or_default();
                    entry.0.push(us);
                    let m = tally.minutes.entry(minute).or_default();
                    m.latencies_us.push(us);
                    if let Some(code) = error {
                        m.errors += 1;
                        tally.per_op.entry(op).or_default().1 += 1;
                        *tally
                            .error_codes
                            .entry(format!("{op}: {code}"))
                            .or_default() += 1;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let _ = sampler.await;
    let elapsed = started.elapsed().as_secs_f64();
    let final_rss = rss_kib(pid);
    let _ = server.child.kill().await;

    let mut tally = std::mem::take(&mut *tally.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let when = chrono::Utc::now().to_rfc3339();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut md = format!(
        "# Sustained mixed load\n\n{when} · {cores} cores · {CLIENTS} concurrent clients over {TENANTS} tenants · {elapsed:.0} s · \
         release server as its own process; load generator on the same machine\n\n\
         | operation | share | requests | errors | req/s | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    let mut rows = Vec::new();
    let mut all: Vec<u64> = Vec::new();
    let mut total_errors = 0;
    println!(
        "{:<18} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "operation", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"
    );
    for (op, share) in MIX {
        let (mut lat, errors) = tally.per_op.remove(op).unwrap_or_default();
        lat.sort_unstable();
        all.extend(&lat);
        total_errors += errors;
        let rps = lat.len() as f64 / elapsed;
        let (p50, p95, p99) = (pct(&lat, 0.5), pct(&lat, 0.95), pct(&lat, 0.99));
        println!(
            "{op:<18} {:>9} {errors:>7} {rps:>8.1} {p50:>8.2} {p95:>8.2} {p99:>8.2}",
            lat.len()
        );
        md.push_str(&format!(
            "| {op} | {share} % | {} | {errors} | {rps:.1} | {p50:.2} | {p95:.2} | {p99:.2} |\n",
            lat.len()
        ));
        rows.push(json!({ "operation": op, "requests": lat.len(), "errors": errors, "requests_per_second": rps,
                          "p50_ms": p50, "p95_ms": p95, "p99_ms": p99 }));
    }
    all.sort_unstable();
    let rps = all.len() as f64 / elapsed;
    let (p50, p95, p99) = (pct(&all, 0.5), pct(&all, 0.95), pct(&all, 0.99));
    println!(
        "{:<18} {:>9} {total_errors:>7} {rps:>8.1} {p50:>8.2} {p95:>8.2} {p99:>8.2}",
        "all",
        all.len()
    );
    md.push_str(&format!(
        "| **all** | 100 % | {} | {total_errors} | {rps:.1} | {p50:.2} | {p95:.2} | {p99:.2} |\n",
        all.len()
    ));

    md.push_str("\n## Per minute\n\n| minute | req/s | errors | p50 ms | p95 ms | p99 ms | server RSS MiB (max) |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut timeline = Vec::new();
    println!("\nminute   req/s  errors  p50 ms  p95 ms  p99 ms  RSS MiB");
    // Whole minutes only: requests finishing after the deadline would make a stub minute.
    let whole = (seconds / 60).max(1);
    for (minute, m) in tally.minutes.iter_mut().filter(|(m, _)| **m < whole) {
        if m.latencies_us.is_empty() {
            continue;
        }
        m.latencies_us.sort_unstable();
        let span = (elapsed - *minute as f64 * 60.0).clamp(1.0, 60.0);
        let rate = m.latencies_us.len() as f64 / span;
        let rss = m.rss_kib.iter().copied().max().unwrap_or(0) as f64 / 1024.0;
        let (a, b, c) = (
            pct(&m.latencies_us, 0.5),
            pct(&m.latencies_us, 0.95),
            pct(&m.latencies_us, 0.99),
        );
        println!(
            "{:>6} {rate:>7.1} {:>7} {a:>7.2} {b:>7.2} {c:>7.2} {rss:>8.1}",
            minute + 1,
            m.errors
        );
        md.push_str(&format!(
            "| {} | {rate:.1} | {} | {a:.2} | {b:.2} | {c:.2} | {rss:.1} |\n",
            minute + 1,
            m.errors
        ));
        timeline.push(
            json!({ "minute": minute + 1, "requests_per_second": rate, "errors": m.errors,
                              "p50_ms": a, "p95_ms": b, "p99_ms": c, "rss_mib": rss }),
        );
    }
    let rss_of = |i: usize| {
        timeline
            .get(i)
            .and_then(|t| t["rss_mib"].as_f64())
            .unwrap_or(0.0)
    };
    let (early, last) = (
        rss_of(1.min(timeline.len().saturating_sub(1))),
        rss_of(timeline.len().saturating_sub(1)),
    );
    let growth = if early > 0.0 {
        (last - early) / early * 100.0
    } else {
        0.0
    };
    let summary = format!(
        "\nErrors: {total_errors} of {} requests{}. Server memory: {early:.1} MiB after minute 2, {last:.1} MiB in the last minute ({growth:+.1} %), {:.1} MiB at the end.\n",
        all.len(),
        if tally.error_codes.is_empty() { String::new() } else { format!(" ({:?})", tally.error_codes) },
        final_rss as f64 / 1024.0
    );
    print!("{summary}");
    md.push_str(&summary);
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("load.json"),
        serde_json::to_string_pretty(
            &json!({ "at": when, "seconds": elapsed, "clients": CLIENTS, "tenants": TENANTS,
            "results": rows, "all": { "requests": all.len(), "errors": total_errors, "requests_per_second": rps,
            "p50_ms": p50, "p95_ms": p95, "p99_ms": p99 }, "error_codes": tally.error_codes, "per_minute": timeline,
            "rss_growth_percent": growth }),
        )?,
    )?;
    std::fs::write(out.join("load.md"), md)?;
    println!("written to {}", out.display());
    drop(server);
    if total_errors > 0 {
        anyhow::bail!("{total_errors} requests failed");
    }
    Ok(())
}

//! Benchmarks of the AutonomOS server. Every suite runs the release server as its own process
//! (`server.rs`) and talks to it over HTTP and WebSocket only; its references (raw SQL, raw
//! Redis, raw embedding, the raw CSV parser) run beside it in the same run.
//!
//! The default suite: bounded request counts per operation over HTTP on loopback, throughput
//! and latency percentiles. Results go to stdout and `<out>/api.{json,md}`.
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod embed;
mod lineage;
mod load;
mod pipeline;
mod proposals;
mod records;
mod records_data;
mod schedules;
mod server;
mod telemetry;

const CONCURRENCY: usize = 16;

pub(crate) struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    pub(crate) fn new(server: &server::Server) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: server.graphql_url(),
        }
    }

    pub(crate) async fn call(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let body: Value = req.send().await?.json().await?;
        if let Some(errors) = body.get("errors") {
            anyhow::bail!("GraphQL errors: {errors}");
        }
        Ok(body["data"].clone())
    }
}

pub(crate) struct Stats {
    name: &'static str,
    requests: usize,
    errors: usize,
    seconds: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

/// Runs `total` calls of `op` with `CONCURRENCY` workers; `op` gets the call's index.
async fn measure<F, Fut>(name: &'static str, total: usize, op: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    measure_with(name, total, CONCURRENCY, op).await
}

pub(crate) async fn measure_with<F, Fut>(
    name: &'static str,
    total: usize,
    concurrency: usize,
    op: F,
) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (op, next) = (op.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                if let Err(e) = op(i).await {
                    if errors == 0 {
                        eprintln!("{name}: {e}");
                    }
                    errors += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::with_capacity(total);
    let mut errors = 0;
    for w in workers {
        if let Ok((l, e)) = w.await {
            all.extend(l);
            errors += e;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    Stats {
        name,
        requests: all.len(),
        errors,
        seconds,
        p50_ms: percentile(&all, 0.50),
        p95_ms: percentile(&all, 0.95),
        p99_ms: percentile(&all, 0.99),
    }
}

pub(crate) fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == name {
            return args.next();
        }
    }
    None
}

fn out_dir() -> PathBuf {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--out" {
            if let Some(dir) = args.next() {
                return PathBuf::from(dir);
            }
        }
    }
    PathBuf::from("bench/results")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match arg("--suite").as_deref() {
        None | Some("api") => api_suite().await,
        Some("proposals") => proposals::run(out_dir()).await,
        Some("pipeline") => pipeline::run(out_dir()).await,
        Some("lineage") => lineage::run(out_dir()).await,
        Some("telemetry") => telemetry::run(out_dir()).await,
        Some("load") => load::run(out_dir()).await,
        Some("records") => records::run(out_dir()).await,
        Some("schedules") => schedules::run(out_dir()).await,
        Some(other) => {
            anyhow::bail!(
                "unknown suite {other} (api | proposals | pipeline | lineage | telemetry | load | records | schedules)"
            )
        }
    }
}

async fn api_suite() -> anyhow::Result<()> {
    let server = server::Server::start(&[("DATABASE__MAX_CONNECTIONS", "32".into())]).await?;
    let client = Arc::new(Client::new(&server));

    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "benchmark password 2026";
    let signed = client
        .call(
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "tenantName": "bench", "email": email, "password": password } }),
            None,
        )
        .await?;
    let token: Arc<str> = signed["signUp"]["token"]
        .as_str()
        .unwrap_or_default()
        .into();
    let run = uuid::Uuid::new_v4().simple().to_string();

    let mut results = Vec::new();
    let (c, t) = (client.clone(), token.clone());
    results.push(
        measure("query me + tenant", 3000, move |_| {
            let (c, t) = (c.clone(), t.clone());
            async move {
                c.call(
                    "{ me { id email role } tenant { name } }",
                    json!({}),
                    Some(&t),
                )
                .await
                .map(|_| ())
            }
        })
        .await,
    );
    let (c, t, r) = (client.clone(), token.clone(), run.clone());
    results.push(
        measure("mutation createMapping (+audit)", 1000, move |i| {
            let (c, t, r) = (c.clone(), t.clone(), r.clone());
            async move {
                c.call(
                    "mutation($i: CreateMappingInput!) { createMapping(input: $i) { id } }",
                    json!({ "i": { "sourceSystem": format!("bench-{r}"), "sourceEntity": "companies",
                                   "sourceField": format!("field_{i}"), "canonicalEntity": "account", "canonicalField": "name" } }),
                    Some(&t),
                )
                .await
                .map(|_| ())
            }
        })
        .await,
    );
    let (c, t) = (client.clone(), token.clone());
    results.push(
        measure("query mappings(first: 50) with versions", 1000, move |_| {
            let (c, t) = (c.clone(), t.clone());
            async move {
                c.call(
                    "{ mappings(first: 50) { totalCount edges { node { id sourceField canonicalField versions { version status } } } } }",
                    json!({}),
                    Some(&t),
                )
                .await
                .map(|_| ())
            }
        })
        .await,
    );
    let c = client.clone();
    let e: Arc<str> = email.into();
    results.push(
        measure("mutation login (argon2id)", 100, move |_| {
            let (c, e) = (c.clone(), e.clone());
            async move {
                c.call(
                    "mutation($i: LoginInput!) { login(input: $i) { token } }",
                    json!({ "i": { "email": &*e, "password": password } }),
                    None,
                )
                .await
                .map(|_| ())
            }
        })
        .await,
    );

    let when = chrono::Utc::now().to_rfc3339();
    let mut md = format!(
        "# API benchmark\n\n{when} · {} cores · concurrency {CONCURRENCY} · release build · app and load generator share the machine\n\n\
         | operation | requests | errors | req/s | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let mut rows = Vec::new();
    println!(
        "{:<42} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8}",
        "operation", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"
    );
    for s in &results {
        let rps = s.requests as f64 / s.seconds;
        println!(
            "{:<42} {:>8} {:>6} {:>9.1} {:>8.2} {:>8.2} {:>8.2}",
            s.name, s.requests, s.errors, rps, s.p50_ms, s.p95_ms, s.p99_ms
        );
        md.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} |\n",
            s.name, s.requests, s.errors, rps, s.p50_ms, s.p95_ms, s.p99_ms
        ));
        rows.push(json!({ "operation": s.name, "requests": s.requests, "errors": s.errors, "requests_per_second": rps,
                          "p50_ms": s.p50_ms, "p95_ms": s.p95_ms, "p99_ms": s.p99_ms }));
    }
    let dir = out_dir();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("api.json"),
        serde_json::to_string_pretty(
            &json!({ "at": when, "concurrency": CONCURRENCY, "results": rows }),
        )?,
    )?;
    std::fs::write(dir.join("api.md"), md)?;
    println!("written to {}", dir.display());
    let failed: usize = results.iter().map(|s| s.errors).sum();
    if failed > 0 {
        anyhow::bail!("{failed} requests failed");
    }
    Ok(())
}

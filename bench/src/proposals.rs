//! Proposal quality on the dev set (bench/proposals/devset.json) and proposal throughput.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use autonomos::config::Settings;
use autonomos::startup::Application;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{measure_with, Client};

#[derive(Deserialize)]
struct Group {
    system: String,
    entity: String,
    /// name, data type, samples, expected "entity.field" (null: nothing fits)
    fields: Vec<(String, String, Vec<String>, Option<String>)>,
}

const PROPOSE: &str = "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { sourceField canonicalEntity canonicalField status method } } }";

async fn tenant(client: &Client) -> anyhow::Result<String> {
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let data = client
        .call(
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "tenantName": "bench", "email": email, "password": "benchmark password 2026" } }),
            None,
        )
        .await?;
    Ok(data["signUp"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

pub async fn run(out: PathBuf) -> anyhow::Result<()> {
    let mut settings = Settings::load()?;
    settings.server.port = 0;
    let app = Application::build(settings).await?;
    let embedder = app.state().embedder.clone();
    let client = Arc::new(Client {
        http: reqwest::Client::new(),
        url: format!("http://127.0.0.1:{}/graphql", app.port()),
    });
    tokio::spawn(app.run_until_stopped());
    let devset: Vec<Group> =
        serde_json::from_str(&std::fs::read_to_string("bench/proposals/devset.json")?)?;

    // Quality: a fresh tenant (cold start: baseline knowledge only).
    let token = tenant(&client).await?;
    let (mut labelled, mut top1, mut auto, mut auto_right, mut total, mut unlabelled_held) =
        (0, 0, 0, 0, 0, 0);
    let mut misses = Vec::new();
    let started = Instant::now();
    for g in &devset {
        let fields: Vec<Value> = g
            .fields
            .iter()
            .map(|(n, t, s, _)| json!({ "name": n, "dataType": t, "samples": s }))
            .collect();
        let data = client
            .call(PROPOSE, json!({ "i": { "sourceSystem": g.system, "sourceEntity": g.entity, "fields": fields } }), Some(&token))
            .await?;
        let proposals = data["proposeMappings"]["proposals"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for ((name, _, _, expected), p) in g.fields.iter().zip(&proposals) {
            total += 1;
            let got = match (p["canonicalEntity"].as_str(), p["canonicalField"].as_str()) {
                (Some(e), Some(f)) => Some(format!("{e}.{f}")),
                _ => None,
            };
            let applied = p["status"] == "AUTO_APPLIED";
            match expected {
                Some(want) => {
                    labelled += 1;
                    if got.as_deref() == Some(want.as_str()) {
                        top1 += 1;
                    } else {
                        misses.push(format!(
                            "{}.{}.{name}: want {want}, got {}",
                            g.system,
                            g.entity,
                            got.as_deref().unwrap_or("-")
                        ));
                    }
                    if applied {
                        auto += 1;
                        if got.as_deref() == Some(want.as_str()) {
                            auto_right += 1;
                        }
                    }
                }
                None => {
                    if applied {
                        auto += 1;
                        misses.push(format!(
                            "{}.{}.{name}: want nothing, auto-applied {}",
                            g.system,
                            g.entity,
                            got.as_deref().unwrap_or("-")
                        ));
                    } else {
                        unlabelled_held += 1;
                    }
                }
            }
        }
    }
    let quality_secs = started.elapsed().as_secs_f64();
    let accuracy = top1 as f64 / labelled.max(1) as f64;
    let precision = auto_right as f64 / auto.max(1) as f64;
    let auto_share = auto as f64 / total.max(1) as f64;

    // Throughput: 100 connectors × 100 distinct fields = 10,000 proposals. Most names recur
    // across connectors (the shared CRM vocabulary of the dev set); 25 per connector are its own.
    let mut shared: Vec<String> = Vec::new();
    for g in &devset {
        for f in &g.fields {
            if !shared.iter().any(|s| s.eq_ignore_ascii_case(&f.0)) {
                shared.push(f.0.clone());
            }
        }
    }
    shared.truncate(75);
    let token = tenant(&client).await?;
    let batches: Vec<(String, Vec<String>)> = (0..100)
        .map(|c| {
            let own = (0..100 - shared.len()).map(|i| format!("connector {c} custom metric {i}"));
            (
                format!("connector_{c}"),
                shared.iter().cloned().chain(own).collect(),
            )
        })
        .collect();
    let all_texts: Vec<String> = batches
        .iter()
        .flat_map(|(_, f)| {
            f.iter()
                .map(|n| autonomos::domains::mappings::names::phrase(n))
        })
        .collect();
    let raw_started = Instant::now();
    embedder.compute(all_texts.clone()).await?;
    let raw_rate = all_texts.len() as f64 / raw_started.elapsed().as_secs_f64();

    let e2e_started = Instant::now();
    let mut proposed = 0usize;
    for (system, fields) in &batches {
        let unique: Vec<Value> = fields.iter().map(|n| json!({ "name": n })).collect();
        proposed += unique.len();
        client.call(PROPOSE, json!({ "i": { "sourceSystem": system, "sourceEntity": "companies", "fields": unique } }), Some(&token)).await?;
    }
    let e2e_rate = proposed as f64 / e2e_started.elapsed().as_secs_f64();

    // One field at a time, new names (no cache help), one client.
    let c = client.clone();
    let t: Arc<str> = token.into();
    let single = measure_with("single-field proposeMappings", 200, 1, move |i| {
        let (c, t) = (c.clone(), t.clone());
        async move {
            c.call(PROPOSE, json!({ "i": { "sourceSystem": "latency", "sourceEntity": "companies", "fields": [{ "name": format!("metric number {i} total") }] } }), Some(&t))
                .await
                .map(|_| ())
        }
    })
    .await;

    let when = chrono::Utc::now().to_rfc3339();
    let md = format!(
        "# Proposal benchmark\n\n{when} · release build · dev set: {total} fields from {} sources ({labelled} labelled)\n\n\
         | metric | value |\n|---|---:|\n\
         | top-1 accuracy (labelled fields) | {:.1}% |\n| precision of auto-applied | {:.1}% |\n| share auto-applied (RAG/EXACT hit rate) | {:.1}% |\n\
         | unmappable fields kept out of auto-apply | {unlabelled_held}/{} |\n| dev-set fields/second (cold tenant) | {:.1} |\n\
         | raw embedding, same model, same 10,000 strings | {:.0} strings/s |\n| end-to-end proposeMappings, 10,000 fields (100 connectors × 100) | {:.0} fields/s ({:.0}% of raw) |\n\
         | single-field proposal p50 / p95 / p99 | {:.1} / {:.1} / {:.1} ms |\n\nMisses:\n\n{}\n",
        devset.len(),
        accuracy * 100.0,
        precision * 100.0,
        auto_share * 100.0,
        total - labelled,
        total as f64 / quality_secs,
        raw_rate,
        e2e_rate,
        100.0 * e2e_rate / raw_rate,
        single.p50_ms,
        single.p95_ms,
        single.p99_ms,
        misses.iter().map(|m| format!("- {m}")).collect::<Vec<_>>().join("\n"),
    );
    print!("{md}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("proposals.md"), &md)?;
    std::fs::write(
        out.join("proposals.json"),
        serde_json::to_string_pretty(&json!({
            "at": when, "fields": total, "labelled": labelled, "top1_accuracy": accuracy, "auto_precision": precision,
            "auto_share": auto_share, "raw_embedding_per_second": raw_rate, "end_to_end_fields_per_second": e2e_rate,
            "single_p50_ms": single.p50_ms, "single_p95_ms": single.p95_ms, "single_p99_ms": single.p99_ms, "misses": misses,
        }))?,
    )?;
    Ok(())
}

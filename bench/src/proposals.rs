//! Proposal quality on the dev set (bench/proposals/devset.json) and proposal throughput.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::embed::RawEmbedder;
use super::server::{Server, Services};
use super::{measure_with, Client};

#[derive(Deserialize)]
struct Group {
    system: String,
    entity: String,
    /// name, data type, samples, expected "entity.field" (null: nothing fits)
    fields: Vec<(String, String, Vec<String>, Option<String>)>,
}

const PROPOSE: &str = "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { sourceField canonicalEntity canonicalField status method } } }";

pub(crate) async fn tenant(client: &Client) -> anyhow::Result<String> {
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

#[derive(Default)]
struct Quality {
    total: usize,
    labelled: usize,
    top1: usize,
    auto: usize,
    auto_right: usize,
    unlabelled: usize,
    unlabelled_held: usize,
    misses: Vec<String>,
    seconds: f64,
}

impl Quality {
    fn accuracy(&self) -> f64 {
        self.top1 as f64 / self.labelled.max(1) as f64
    }
    fn precision(&self) -> f64 {
        self.auto_right as f64 / self.auto.max(1) as f64
    }
    fn auto_share(&self) -> f64 {
        self.auto as f64 / self.total.max(1) as f64
    }
}

fn propose_input(system: &str, fields: &[String]) -> Value {
    let fields: Vec<Value> = fields.iter().map(|n| json!({ "name": n })).collect();
    json!({ "i": { "sourceSystem": system, "sourceEntity": "companies", "fields": fields } })
}

async fn evaluate(client: &Client, groups: &[Group]) -> anyhow::Result<Quality> {
    let token = tenant(client).await?;
    let mut q = Quality::default();
    let started = Instant::now();
    for g in groups {
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
            q.total += 1;
            let got = match (p["canonicalEntity"].as_str(), p["canonicalField"].as_str()) {
                (Some(e), Some(f)) => Some(format!("{e}.{f}")),
                _ => None,
            };
            let applied = p["status"] == "AUTO_APPLIED";
            let right = got.as_deref() == expected.as_deref();
            match expected {
                Some(want) => {
                    q.labelled += 1;
                    if right {
                        q.top1 += 1;
                    } else {
                        q.misses.push(format!(
                            "{}.{}.{name}: want {want}, got {}",
                            g.system,
                            g.entity,
                            got.as_deref().unwrap_or("-")
                        ));
                    }
                }
                None => {
                    q.unlabelled += 1;
                    if applied {
                        q.misses.push(format!(
                            "{}.{}.{name}: want nothing, auto-applied {}",
                            g.system,
                            g.entity,
                            got.as_deref().unwrap_or("-")
                        ));
                    } else {
                        q.unlabelled_held += 1;
                    }
                }
            }
            if applied {
                q.auto += 1;
                if right {
                    q.auto_right += 1;
                }
            }
        }
    }
    q.seconds = started.elapsed().as_secs_f64();
    Ok(q)
}

pub async fn run(out: PathBuf) -> anyhow::Result<()> {
    let services = Services::load()?;
    let server = Server::start(&[]).await?;
    let client = Arc::new(Client::new(&server));
    let mut embedder = RawEmbedder::load(&services.model_dir())?;
    let devset: Vec<Group> =
        serde_json::from_str(&std::fs::read_to_string("bench/proposals/devset.json")?)?;

    // Quality, each set on a fresh tenant (cold start: baseline knowledge only). The held-out
    // set comes from CRMs the alias knowledge was not written for.
    let dev = evaluate(&client, &devset).await?;
    let holdout_set: Vec<Group> =
        serde_json::from_str(&std::fs::read_to_string("bench/proposals/holdout.json")?)?;
    let held = evaluate(&client, &holdout_set).await?;

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
        .flat_map(|(_, f)| f.iter().map(|n| phrase(n)))
        .collect();
    // Raw embedding is timed before and after the end-to-end run and averaged, so a noisy
    // neighbour on the machine weighs on both figures alike.
    let raw_started = Instant::now();
    embedder = embedder.embed(all_texts.clone()).await?.0;
    let raw_before = raw_started.elapsed().as_secs_f64();

    // The first half one call at a time, the second half from 4 clients at once (a server
    // overlaps database round trips of one call with the embedding of another).
    let (first, second) = batches.split_at(batches.len() / 2);
    let e2e_started = Instant::now();
    let mut proposed = 0usize;
    for (system, fields) in first {
        proposed += fields.len();
        client
            .call(PROPOSE, propose_input(system, fields), Some(&token))
            .await?;
    }
    let e2e_rate = proposed as f64 / e2e_started.elapsed().as_secs_f64();
    let concurrent_started = Instant::now();
    let calls = futures_util::stream::iter(second.iter().map(|(system, fields)| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            client
                .call(PROPOSE, propose_input(system, fields), Some(&token))
                .await
        }
    }))
    .buffer_unordered(4)
    .collect::<Vec<_>>()
    .await;
    for result in calls {
        result?;
    }
    let concurrent_rate = second.iter().map(|b| b.1.len()).sum::<usize>() as f64
        / concurrent_started.elapsed().as_secs_f64();
    let raw_started = Instant::now();
    embedder.embed(all_texts.clone()).await?;
    let raw_after = raw_started.elapsed().as_secs_f64();
    let raw_rate = 2.0 * all_texts.len() as f64 / (raw_before + raw_after);

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
    let row = |label: &str, f: &dyn Fn(&Quality) -> String| {
        format!("| {label} | {} | {} |\n", f(&dev), f(&held))
    };
    let mut md = format!(
        "# Proposal benchmark\n\n{when} · release build · cold tenants (baseline knowledge only)\n\n\
         | quality | dev set | held-out set |\n|---|---:|---:|\n"
    );
    md += &row("fields (labelled)", &|q| {
        format!("{} ({})", q.total, q.labelled)
    });
    md += &row("top-1 accuracy", &|q| {
        format!("{:.1}%", q.accuracy() * 100.0)
    });
    md += &row("precision of auto-applied", &|q| {
        format!("{:.1}%", q.precision() * 100.0)
    });
    md += &row("share auto-applied (RAG/EXACT hit rate)", &|q| {
        format!("{:.1}%", q.auto_share() * 100.0)
    });
    md += &row("unmappable fields kept out of auto-apply", &|q| {
        format!("{}/{}", q.unlabelled_held, q.unlabelled)
    });
    md += &row("fields/second", &|q| {
        format!("{:.0}", q.total as f64 / q.seconds)
    });
    md += &format!(
        "\n| throughput | value |\n|---|---:|\n\
         | raw embedding, same model, same 10,000 strings (mean of a run before and after) | {raw_rate:.0} strings/s |\n\
         | end-to-end proposeMappings, 5,000 fields (50 connectors × 100), one call at a time | {e2e_rate:.0} fields/s ({:.0}% of raw) |\n\
         | end-to-end proposeMappings, 5,000 more fields (50 connectors × 100), 4 clients | {concurrent_rate:.0} fields/s ({:.0}% of raw) |\n\
         | single-field proposal p50 / p95 / p99 | {:.1} / {:.1} / {:.1} ms |\n\n",
        100.0 * e2e_rate / raw_rate,
        100.0 * concurrent_rate / raw_rate,
        single.p50_ms,
        single.p95_ms,
        single.p99_ms,
    );
    md += "Misses (dev set):\n\n";
    md += &dev
        .misses
        .iter()
        .map(|m| format!("- {m}\n"))
        .collect::<String>();
    md += "\nMisses (held-out set):\n\n";
    md += &held
        .misses
        .iter()
        .map(|m| format!("- {m}\n"))
        .collect::<String>();
    print!("{md}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("proposals.md"), &md)?;
    let quality = |q: &Quality| {
        json!({
            "fields": q.total, "labelled": q.labelled, "top1_accuracy": q.accuracy(), "auto_precision": q.precision(),
            "auto_share": q.auto_share(), "misses": q.misses,
        })
    };
    std::fs::write(
        out.join("proposals.json"),
        serde_json::to_string_pretty(&json!({
            "at": when, "dev": quality(&dev), "holdout": quality(&held),
            "raw_embedding_per_second": raw_rate, "end_to_end_fields_per_second": e2e_rate, "end_to_end_4_clients_fields_per_second": concurrent_rate,
            "single_p50_ms": single.p50_ms, "single_p95_ms": single.p95_ms, "single_p99_ms": single.p99_ms,
        }))?,
    )?;
    Ok(())
}

/// A field name as words, lower case (`AnnualRevenue`, `annual_revenue` → `annual revenue`):
/// about what the server embeds for it.
fn phrase(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let mut prev: Option<char> = None;
    for c in raw.chars() {
        if !c.is_alphanumeric() {
            out.push(' ');
        } else {
            if prev.is_some_and(char::is_lowercase) && c.is_uppercase() {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
        }
        prev = Some(c);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

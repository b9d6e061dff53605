//! Unified records at scale: generated overlapping CRM sources (`records_data.rs`, known truth)
//! synced through the real pipeline twice in the same run — with entity resolution off (the
//! reference) and on — into a tenant of its own beside nine smaller ones. Prints records/s end
//! to end both ways, pairwise precision / recall / F1 of the links against the truth, the share
//! of compared pairs sent to review, and p50/p95 of a filtered, sorted `records` page and of
//! `record` with provenance (next to the same page's SQL under row-level security).
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use serde_json::{json, Value};

use super::pipeline::{sync_to_end, upload};
use super::proposals::tenant;
use super::records_data::{generate, pairwise, Generated};
use super::server::{fresh_database, Server, Services};
use super::{arg, measure_with, Client, Stats};

struct Synced {
    token: String,
    tenant_id: String,
    records: u64,
    seconds: f64,
    counts: Vec<Value>,
}

async fn start(resolve: bool, bytes: u64) -> anyhow::Result<Server> {
    Server::start(&[
        ("RECORDS__RESOLVE", resolve.to_string()),
        ("SYNC__BATCH_SIZE", "1000".into()),
        ("UPLOADS__MAX_BYTES", (bytes + 1).to_string()),
        // The mappings are the benchmark's: proposals never apply themselves.
        ("PROPOSALS__AUTO_APPLY_THRESHOLD", "1.0".into()),
        ("PROPOSALS__REVIEW_THRESHOLD", "0.99".into()),
    ])
    .await
}

/// A new tenant with the generated sources uploaded, mapped and synced one after the other.
async fn sync_all(server: &Server, client: &Client, data: &Generated) -> anyhow::Result<Synced> {
    let token = tenant(client).await?;
    let tenant_id = client
        .call("{ tenant { id } }", json!({}), Some(&token))
        .await?["tenant"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut connectors = Vec::new();
    for (file, name, source_entity, entity, fields) in &data.sources {
        let path = upload(server, &token, &data.dir.join(file), file).await?;
        let connector = client
            .call(
                "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }",
                json!({ "i": { "name": name, "kind": "CSV", "config": { "path": path, "entity": source_entity,
                                "idColumn": fields[0].0 } } }),
                Some(&token),
            )
            .await?["createConnector"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for (source, field) in fields {
            let id = client
                .call(
                    "mutation($i: CreateMappingInput!) { createMapping(input: $i) { id } }",
                    json!({ "i": { "connectorId": connector, "sourceEntity": source_entity, "sourceField": source,
                                   "canonicalEntity": entity, "canonicalField": field } }),
                    Some(&token),
                )
                .await?["createMapping"]["id"]
                .clone();
            client
                .call(
                    "mutation($id: ID!) { approveMapping(id: $id) { id } }",
                    json!({ "id": id }),
                    Some(&token),
                )
                .await?;
        }
        connectors.push(connector);
    }
    let started = Instant::now();
    let mut records = 0;
    let mut counts = Vec::new();
    for connector in connectors {
        let done = sync_to_end(
            client,
            &token,
            &connector,
            "recordsRead eventsWritten unifiedLinks matchCandidates matchPairsCompared",
            Duration::from_millis(250),
        )
        .await?;
        anyhow::ensure!(done["status"] == "SUCCEEDED", "sync ended {done}");
        records += done["counts"]["recordsRead"].as_u64().unwrap_or(0);
        counts.push(done["counts"].clone());
    }
    Ok(Synced {
        token,
        tenant_id,
        records,
        seconds: started.elapsed().as_secs_f64(),
        counts,
    })
}

fn line(s: &Stats) -> String {
    format!(
        "| {} | {} | {} | {:.2} | {:.2} | {:.2} |\n",
        s.name, s.requests, s.errors, s.p50_ms, s.p95_ms, s.p99_ms
    )
}

pub async fn run(out: PathBuf) -> anyhow::Result<()> {
    let rows: u64 = arg("--rows")
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    fresh_database("autonomos_bench_records").await?;
    let root = std::env::temp_dir()
        .join("autonomos-bench")
        .join(format!("records-{rows}"));
    let data = generate(&root.join("main"), rows)?;
    let small = generate(&root.join("small"), (rows / 100).max(100))?;
    let bytes = data
        .sources
        .iter()
        .map(|s| {
            std::fs::metadata(data.dir.join(s.0))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    println!(
        "generated {} source records ({} in each of 9 smaller tenants)",
        data.records, small.records
    );

    // The reference: the same sources through the pipeline with resolution off.
    let off = {
        let server = start(false, bytes).await?;
        let client = Client::new(&server);
        sync_all(&server, &client, &data).await?
    };
    let off_rate = off.records as f64 / off.seconds;
    println!(
        "resolution off: {} records in {:.1} s ({off_rate:.0}/s)",
        off.records, off.seconds
    );

    let server = start(true, bytes).await?;
    let client = Arc::new(Client::new(&server));
    let on = sync_all(&server, &client, &data).await?;
    let on_rate = on.records as f64 / on.seconds;
    let peak = server.peak_rss_kib() as f64 / 1024.0;
    println!(
        "resolution on: {} records in {:.1} s ({on_rate:.0}/s)",
        on.records, on.seconds
    );
    for _ in 0..9 {
        sync_all(&server, &client, &small).await?;
    }

    // Links against the truth, read as the owner (the whole tenant at once).
    let services = Services::load()?;
    let owner = Database::connect(&services.database.migration_url).await?;
    let rows_of = owner
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT l.entity || ':' || l.unified_id::text AS cluster, r.source_system, r.source_record_id
             FROM record_links l JOIN canonical_records r
               ON r.tenant_id = l.tenant_id AND r.entity = l.entity AND r.id = l.canonical_id
             WHERE l.tenant_id = $1::uuid",
            [on.tenant_id.clone().into()],
        ))
        .await?;
    let mut clusters: HashMap<String, Vec<u64>> = HashMap::new();
    for r in &rows_of {
        let key = (
            r.try_get::<String>("", "source_system")?,
            r.try_get::<String>("", "source_record_id")?,
        );
        if let Some(e) = data.truth.get(&key) {
            clusters
                .entry(r.try_get("", "cluster")?)
                .or_default()
                .push(*e);
        }
    }
    let (precision, recall, f1, predicted, actual) = pairwise(&clusters, &data.truth);
    let sum = |k: &str| {
        on.counts
            .iter()
            .map(|c| c[k].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    let (review, compared) = (sum("matchCandidates"), sum("matchPairsCompared"));
    let review_share = if compared == 0 {
        0.0
    } else {
        review as f64 / compared as f64
    };
    let unified: i64 = owner
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) FROM unified_records WHERE tenant_id = $1::uuid",
            [on.tenant_id.clone().into()],
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0);
    for table in [
        "unified_records",
        "record_links",
        "record_keys",
        "canonical_records",
    ] {
        owner
            .execute_unprepared(&format!("VACUUM ANALYZE {table}"))
            .await?;
    }

    // Reads at that size: a filtered, sorted page (the city and first name of a contact) and
    // one record with provenance.
    let sample = client
        .call(
            "{ records(entity: \"contact\", first: 1) { edges { node { data } } } }",
            json!({}),
            Some(&on.token),
        )
        .await?["records"]["edges"][0]["node"]["data"]
        .clone();
    let (city, first) = (sample["mailing_city"].clone(), sample["first_name"].clone());
    let filter = json!({ "and": [ { "field": "mailing_city", "op": "EQ", "value": city },
                                  { "field": "first_name", "op": "EQ", "value": first } ] });
    let containment = json!({ "mailing_city": city, "first_name": first }).to_string();
    let page_query = "query($f: RecordFilter) { records(entity: \"contact\", filter: $f, sort: { field: \"last_name\" }, first: 50) {
        edges { node { id data } } } }";
    let n = 200;
    let (c, t, f) = (client.clone(), on.token.clone(), filter.clone());
    let page = measure_with(
        "records page: contacts of a city and first name, by last name (GraphQL)",
        n,
        1,
        move |_| {
            let (c, t, f) = (c.clone(), t.clone(), f.clone());
            async move {
                let d = c.call(page_query, json!({ "f": f }), Some(&t)).await?;
                anyhow::ensure!(
                    !d["records"]["edges"].as_array().is_none_or(Vec::is_empty),
                    "an empty page"
                );
                Ok(())
            }
        },
    )
    .await;
    let app_role = Database::connect(&services.database.url).await?;
    let tenant_id = on.tenant_id.clone();
    let raw = measure_with("the same page (SQL, row-level security)", n, 1, move |_| {
        let (db, tenant_id, containment) = (app_role.clone(), tenant_id.clone(), containment.clone());
        async move {
            let tx = db.begin().await?;
            tx.execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('app.tenant_id', $1, true)",
                [tenant_id.clone().into()],
            ))
            .await?;
            let rows = tx
                .query_all(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT u.id, u.data FROM unified_records u WHERE u.tenant_id = $1::uuid AND u.entity = 'contact'
                       AND u.id IN (SELECT unified_ids_containing('contact', $2::jsonb))
                     ORDER BY coalesce(u.data->'last_name', 'null'::jsonb), u.id LIMIT 51",
                    [tenant_id.into(), containment.into()],
                ))
                .await?;
            tx.commit().await?;
            anyhow::ensure!(!rows.is_empty(), "an empty page");
            Ok(())
        }
    })
    .await;
    let ids: Vec<String> = client
        .call(
            "{ records(entity: \"contact\", first: 200) { edges { node { id } } } }",
            json!({}),
            Some(&on.token),
        )
        .await?["records"]["edges"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|x| x["node"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let ids = Arc::new(ids);
    let (c, t) = (client.clone(), on.token.clone());
    let record = measure_with("record with provenance, alternatives, members (GraphQL)", n, 1, move |i| {
        let (c, t, ids) = (c.clone(), t.clone(), ids.clone());
        async move {
            let id = ids.get(i % ids.len().max(1)).cloned().unwrap_or_default();
            c.call(
                "query($id: ID!) { record(entity: \"contact\", id: $id) { id values { field value
                   provenance { sourceSystem sourceRecordId sourceField mappingVersion rule } alternatives { value } }
                   members { canonicalId sourceSystem linkRule linkScore } } }",
                json!({ "id": id }),
                Some(&t),
            )
            .await
            .map(drop)
        }
    })
    .await;

    let when = chrono::Utc::now().to_rfc3339();
    let keep = on_rate / off_rate;
    let mut md = format!(
        "# Unified records benchmark\n\n{when} · release build · 2 cores · app, driver, PostgreSQL and Redis share the machine\n\n\
         Two generated CRMs (accounts and contacts; 30% of entities in both, with legal-form, case, phone-format \
         differences, typos and missing fields), {} source records into one tenant beside nine of {} each.\n\n\
         | measure | value | goal |\n|---|---:|---:|\n\
         | records/s end to end, resolution off (reference) | {off_rate:.0} | |\n\
         | **records/s end to end, resolution on** | **{on_rate:.0}** ({:.0}% of off) | ≥ 80% |\n\
         | unified records | {unified} | |\n\
         | pairwise precision | {precision:.4} | ≥ 0.99 |\n\
         | pairwise recall | {recall:.4} | ≥ 0.95 |\n\
         | F1 | {f1:.4} | |\n\
         | linked pairs / true pairs | {predicted} / {actual} | |\n\
         | compared pairs in review | {review} of {compared} ({:.2}%) | ≤ 5% |\n\
         | peak memory (server, resolution on) | {peak:.0} MiB | |\n\n\
         | read | requests | errors | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|\n{}{}{}",
        data.records,
        small.records,
        keep * 100.0,
        review_share * 100.0,
        line(&page),
        line(&raw),
        line(&record),
    );
    md.push_str(
        "\nGoals at 1,000,000 records: `records` page p95 < 50 ms, `record` p95 < 20 ms.\n",
    );
    print!("{md}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("records.md"), &md)?;
    std::fs::write(
        out.join("records.json"),
        serde_json::to_string_pretty(&json!({
            "at": when, "records": data.records, "small_tenant_records": small.records,
            "records_per_second_off": off_rate, "records_per_second_on": on_rate, "kept_share": keep,
            "unified_records": unified, "precision": precision, "recall": recall, "f1": f1,
            "linked_pairs": predicted, "true_pairs": actual, "review": review, "compared": compared,
            "review_share": review_share, "peak_rss_mib": peak,
            "page": { "p50_ms": page.p50_ms, "p95_ms": page.p95_ms, "p99_ms": page.p99_ms, "errors": page.errors },
            "page_sql": { "p50_ms": raw.p50_ms, "p95_ms": raw.p95_ms, "p99_ms": raw.p99_ms },
            "record": { "p50_ms": record.p50_ms, "p95_ms": record.p95_ms, "p99_ms": record.p99_ms, "errors": record.errors },
        }))?,
    )?;
    Ok(())
}

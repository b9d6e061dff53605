//! Lineage views at scale: 1,000,000 mappings across 100 connectors in one tenant (and nine
//! more tenants of 100,000 each in the same tables), then p50/p95/p99 of a filtered, sorted
//! grid page through GraphQL next to the same page's SQL run directly, a search page, a tree,
//! a depth-3 graph, and export throughput.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::server::{Server, Services};
use super::{arg, measure_with, Client, Stats};

const CONNECTORS: u64 = 100;

/// The grid page both sides read: status ACTIVE, confidence ≥ 0.7, three source systems,
/// newest confidence first (what the server's filter compiles to).
const GRID_FILTER: &str =
    "g.status = $2 AND g.confidence::float8 >= $3 AND g.source_system IN ($4, $5, $6)";
const GRID_ORDER: &str = "coalesce(g.confidence::float8, -1) DESC, g.id DESC";
const GRID_COLUMNS: &str = "g.id, g.source_system, g.source_table, g.source_field, g.canonical_entity, \
    g.canonical_field, g.mapping_type, g.method, g.confidence, g.status, g.version, g.last_validated, \
    g.success_rate, g.avg_processing_ms, g.error_count, g.created_at";

async fn seed(
    owner: &sea_orm::DatabaseConnection,
    tenant: Uuid,
    rows: u64,
    with_sources: bool,
) -> anyhow::Result<()> {
    let exec = |sql: &str, values: Vec<sea_orm::Value>| {
        owner.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
    };
    exec(
        "INSERT INTO connectors (id, tenant_id, name, kind, config)
         SELECT gen_random_uuid(), $1, 'conn-' || i, 'CSV', '{\"path\": \"bench.csv\", \"delimiter\": \",\", \"quote\": \"\\\"\", \"encoding\": \"utf-8\", \"hasHeader\": true}'
         FROM generate_series(0, $2 - 1) i",
        vec![tenant.into(), (CONNECTORS as i64).into()],
    )
    .await?;
    exec(
        "WITH f AS (SELECT array_agg(cf.id ORDER BY cf.id) AS ids, array_agg(ce.name ORDER BY cf.id) AS ents,
                           array_agg(cf.name ORDER BY cf.id) AS names
                    FROM canonical_fields cf JOIN canonical_entities ce ON ce.id = cf.entity_id WHERE cf.tenant_id = $1)
         INSERT INTO mappings (tenant_id, mapping_id, version, is_head, is_active, status, source_system, source_entity,
                               source_field, canonical_field_id, canonical_entity, canonical_field, mapping_type, method,
                               confidence, approved_at, created_at)
         SELECT $1, gen_random_uuid(), 1, true, s % 10 <> 0, CASE WHEN s % 10 = 0 THEN 'PENDING' ELSE 'ACTIVE' END,
                'conn-' || (s % 100), 'entity-' || (s / 100 % 10), 'field-' || s,
                f.ids[1 + s % cardinality(f.ids)], f.ents[1 + s % cardinality(f.ids)], f.names[1 + s % cardinality(f.ids)],
                (ARRAY['DIRECT', 'DIRECT', 'TRANSFORMED', 'COMPUTED'])[1 + s % 4],
                (ARRAY['EXACT', 'RAG', 'LLM', 'MANUAL'])[1 + s / 7 % 4],
                (s * 7919 % 1000) / 1000.0, CASE WHEN s % 10 <> 0 THEN now() END,
                now() - make_interval(secs => s)
         FROM generate_series(1, $2) s, f",
        vec![tenant.into(), (rows as i64).into()],
    )
    .await?;
    exec(
        "INSERT INTO mapping_stats (tenant_id, mapping_id, values_ok, values_failed, processing_us, last_validated_at)
         SELECT tenant_id, mapping_id, 1000, (hashtext(source_field) & 7)::bigint * 10, 5000, now() - interval '1 hour'
         FROM mappings WHERE tenant_id = $1 AND is_active AND hashtext(source_field) % 2 = 0",
        vec![tenant.into()],
    )
    .await?;
    if with_sources {
        // conn-0's current schemas: its 10,000 fields over 10 entities, for the tree.
        exec(
            "INSERT INTO source_schemas (id, tenant_id, connector_id, source_entity, version, fingerprint, is_current)
             SELECT gen_random_uuid(), $1, c.id, 'entity-' || e, 1, 'bench', true
             FROM connectors c, generate_series(0, 9) e WHERE c.tenant_id = $1 AND c.name = 'conn-0'",
            vec![tenant.into()],
        )
        .await?;
        exec(
            "INSERT INTO source_fields (id, tenant_id, source_schema_id, connector_id, source_entity, name, data_type, position)
             SELECT gen_random_uuid(), $1, s.id, s.connector_id, m.source_entity, m.source_field, 'string', 0
             FROM mappings m JOIN connectors c ON c.tenant_id = m.tenant_id AND c.name = m.source_system
             JOIN source_schemas s ON s.connector_id = c.id AND s.source_entity = m.source_entity
             WHERE m.tenant_id = $1 AND m.source_system = 'conn-0'",
            vec![tenant.into()],
        )
        .await?;
    }
    Ok(())
}

/// Logs in as `name` (signing up the first time) and seeds its tenant unless a run before did.
async fn seeded_tenant(
    client: &Client,
    owner: &sea_orm::DatabaseConnection,
    name: &str,
    rows: u64,
    with_sources: bool,
) -> anyhow::Result<(String, Uuid)> {
    let email = format!("{name}@bench.local");
    let password = "benchmark password 2026";
    let login = client
        .call(
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            json!({ "i": { "email": email, "password": password } }),
            None,
        )
        .await;
    let token = match login {
        Ok(d) => d["login"]["token"].as_str().unwrap_or_default().to_owned(),
        Err(_) => client
            .call(
                "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
                json!({ "i": { "tenantName": name, "email": email, "password": password } }),
                None,
            )
            .await?["signUp"]["token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    let me = client
        .call("{ tenant { id } }", json!({}), Some(&token))
        .await?;
    let tenant = Uuid::parse_str(me["tenant"]["id"].as_str().unwrap_or_default())?;
    let have = owner
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM mappings WHERE tenant_id = $1",
            [tenant.into()],
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if have as u64 != rows {
        // A fresh tenant, or one a crashed run left half seeded: start it over.
        for table in [
            "source_fields",
            "source_schemas",
            "mapping_stats",
            "mappings",
            "connectors",
        ] {
            owner
                .execute(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    format!("DELETE FROM {table} WHERE tenant_id = $1"),
                    [tenant.into()],
                ))
                .await?;
        }
        seed(owner, tenant, rows, with_sources).await?;
    }
    Ok((token, tenant))
}

const PAGE: &str = "query($f: LineageFilter, $s: String, $o: LineageSort) { lineageGrid(filter: $f, search: $s, sort: $o, first: 100) {
    totalCount edges { cursor node { id sourceSystem sourceTable sourceField canonicalEntity canonicalField mappingType method
    confidence status version lastValidated successRate avgProcessingMs errorCount createdAt } } } }";

/// One grid page through GraphQL: `filter`, by confidence descending, 100 rows and the total.
fn grid_page_call(
    client: Arc<Client>,
    token: String,
    filter: serde_json::Value,
) -> impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>
       + Send
       + Sync
       + 'static {
    move |_| {
        let (c, t, f) = (client.clone(), token.clone(), filter.clone());
        Box::pin(async move {
            c.call(
                PAGE,
                json!({ "f": f, "o": { "column": "CONFIDENCE", "direction": "DESC" } }),
                Some(&t),
            )
            .await
            .map(|_| ())
        })
    }
}

fn row(label: &str, s: &Stats) -> String {
    format!(
        "| {label} | {} | {:.2} | {:.2} | {:.2} |\n",
        s.requests, s.p50_ms, s.p95_ms, s.p99_ms
    )
}

pub async fn run(out: PathBuf) -> anyhow::Result<()> {
    let rows: u64 = arg("--rows")
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let services = Services::load()?;
    let owner = Database::connect(&services.database.migration_url).await?;
    // The reference reads as the application role, so row-level security applies as it does
    // for the server.
    let app_role = Database::connect(&services.database.url).await?;
    let server = Server::start(&[]).await?;
    let client = Arc::new(Client::new(&server));
    let seed_started = Instant::now();
    // Named tenants: a later run on the same database reuses what an earlier one seeded.
    let (token, tenant_id) =
        seeded_tenant(&client, &owner, &format!("lineage-{rows}-main"), rows, true).await?;
    let mut small_tenant = String::new();
    for i in 0..9 {
        let (t, _) = seeded_tenant(
            &client,
            &owner,
            &format!("lineage-{rows}-small-{i}"),
            rows / 10,
            false,
        )
        .await?;
        small_tenant = t;
    }
    // One statement each: VACUUM cannot run inside the implicit transaction of a batch.
    for table in [
        "mappings",
        "mapping_stats",
        "source_fields",
        "lineage_grid",
        "lineage_terms",
    ] {
        owner
            .execute_unprepared(&format!("VACUUM ANALYZE {table}"))
            .await?;
    }
    let seeded = seed_started.elapsed().as_secs_f64();
    println!(
        "seeded (or reused) {} mappings in {seeded:.0} s",
        rows + 9 * rows / 10
    );

    let filter = json!({ "and": [
        { "column": "STATUS", "op": "EQ", "value": "ACTIVE" },
        { "column": "CONFIDENCE", "op": "GTE", "value": 0.7 },
        { "column": "SOURCE_SYSTEM", "op": "IN", "value": ["conn-1", "conn-2", "conn-3"] } ] });
    let n = 100;
    let grid = measure_with(
        "grid page (GraphQL)",
        n,
        1,
        grid_page_call(client.clone(), token.clone(), filter.clone()),
    )
    .await;
    // The same page's SQL (filter, sort, limit, total) straight on the database, in the
    // tenant's transaction as the server runs it.
    let raw = measure_with("grid page (SQL)", n, 1, move |_| {
        let db = app_role.clone();
        async move {
            let tx = db.begin().await?;
            tx.execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('app.tenant_id', $1, true)",
                [tenant_id.to_string().into()],
            ))
            .await?;
            let values = || -> Vec<sea_orm::Value> {
                vec![
                    tenant_id.into(),
                    "ACTIVE".into(),
                    0.7f64.into(),
                    "conn-1".into(),
                    "conn-2".into(),
                    "conn-3".into(),
                ]
            };
            let rows = tx
                .query_all(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    format!(
                        "WITH page AS MATERIALIZED (
                             SELECT g.id FROM lineage_grid g WHERE g.tenant_id = $1 AND {GRID_FILTER}
                             ORDER BY {GRID_ORDER} LIMIT 101)
                         SELECT {GRID_COLUMNS} FROM page p JOIN lineage_grid g ON g.tenant_id = $1 AND g.id = p.id
                         ORDER BY {GRID_ORDER}"
                    ),
                    values(),
                ))
                .await?;
            tx.query_one(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("SELECT count(*) FROM lineage_grid g WHERE g.tenant_id = $1 AND {GRID_FILTER}"),
                values(),
            ))
            .await?;
            tx.commit().await?;
            anyhow::ensure!(!rows.is_empty(), "the reference page is empty");
            Ok(())
        }
    })
    .await;
    // The same page in one of the nine smaller tenants sharing the tables.
    let small = measure_with(
        "grid page, smaller tenant (GraphQL)",
        n,
        1,
        grid_page_call(client.clone(), small_tenant.clone(), filter.clone()),
    )
    .await;
    let (c, t) = (client.clone(), token.clone());
    let search = measure_with("grid search page", n / 2, 1, move |i| {
        let (c, t) = (c.clone(), t.clone());
        async move {
            c.call(
                PAGE,
                json!({ "s": format!("conn-{} field-{}", i % 100, 1000 + i) }),
                Some(&t),
            )
            .await
            .map(|_| ())
        }
    })
    .await;
    let conn0 = client
        .call(
            "{ connectors(filter: { kind: CSV }, first: 100) { edges { node { id name } } } }",
            json!({}),
            Some(&token),
        )
        .await?;
    let conn0 = conn0["connectors"]["edges"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["node"]["name"] == "conn-0"))
        .and_then(|e| e["node"]["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let (c, t, k) = (client.clone(), token.clone(), conn0.clone());
    let tree = measure_with("tree (conn-0, depth 3)", 10, 1, move |_| {
        let (c, t, k) = (c.clone(), t.clone(), k.clone());
        async move {
            c.call("query($c: ID!) { lineageTree(connectorId: $c, depth: 3) { counts { fields } children { name counts { fields } children { name status confidence } } } }",
                   json!({ "c": k }), Some(&t)).await.map(|_| ())
        }
    })
    .await;
    let (c, t, k) = (client.clone(), token.clone(), conn0.clone());
    let graph = measure_with("graph (depth 3, both ways from a field)", n, 1, move |i| {
        let (c, t, k) = (c.clone(), t.clone(), k.clone());
        async move {
            let s = (i as u64 % (rows / 100)) * 100 + 100;
            c.call("query($r: String!) { lineageGraph(rootId: $r, direction: BOTH, depth: 3) { nodes { id } edges { weight } } }",
                   json!({ "r": format!("field:{k}:entity-{}:field-{s}", s / 100 % 10) }), Some(&t)).await.map(|_| ())
        }
    })
    .await;
    let export_started = Instant::now();
    let exported = client
        .call(
            "mutation($f: LineageFilter) { exportLineage(format: PARQUET, filter: $f) { rows bytes } }",
            json!({ "f": { "column": "SOURCE_SYSTEM", "op": "IN", "value": (0..10).map(|i| format!("conn-{i}")).collect::<Vec<_>>() } }),
            Some(&token),
        )
        .await?;
    let export_rows = exported["exportLineage"]["rows"].as_u64().unwrap_or(0);
    let export_rate = export_rows as f64 / export_started.elapsed().as_secs_f64();

    let when = chrono::Utc::now().to_rfc3339();
    let mut md = format!(
        "# Lineage benchmark\n\n{when} · release build · 2 cores shared with PostgreSQL · {rows} mappings over {CONNECTORS} connectors in one tenant, plus 9 tenants × {} in the same tables\n\n\
         | operation | requests | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|\n",
        rows / 10
    );
    md += &row("grid page: status = ACTIVE, confidence ≥ 0.7, 3 connectors, by confidence desc, 100 rows + total (GraphQL)", &grid);
    md += &row("same page, same SQL, straight on PostgreSQL", &raw);
    md += &row(
        &format!("same page in a {}-mapping tenant (GraphQL)", rows / 10),
        &small,
    );
    md += &row("grid search page (two words, 100 rows + total)", &search);
    md += &row(
        &format!("tree of a {}-field connector, depth 3", rows / CONNECTORS),
        &tree,
    );
    md += &row("graph, depth 3, both ways from a source field", &graph);
    md += &format!(
        "\nGraphQL / SQL at p95: {:.2}×. Export (Parquet via DuckDB) of {export_rows} rows: {export_rate:.0} rows/s.\n",
        grid.p95_ms / raw.p95_ms.max(0.001)
    );
    print!("{md}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("lineage.md"), &md)?;
    let stat = |s: &Stats| json!({ "requests": s.requests, "p50_ms": s.p50_ms, "p95_ms": s.p95_ms, "p99_ms": s.p99_ms });
    std::fs::write(
        out.join("lineage.json"),
        serde_json::to_string_pretty(&json!({
            "at": when, "rows": rows, "seed_seconds": seeded, "grid_graphql": stat(&grid), "grid_sql": stat(&raw),
            "smallTenantGrid": stat(&small), "search": stat(&search), "tree": stat(&tree), "graph": stat(&graph),
            "export_rows": export_rows, "export_rows_per_second": export_rate,
        }))?,
    )?;
    Ok(())
}

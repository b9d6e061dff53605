//! The lineage grid and tree through GraphQL, on mappings made by a real sync run.
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_code, spawn_app, TestApp, TestTenant};

const ROW: &str =
    "id sourceSystem sourceTable sourceField canonicalEntity canonicalField mappingType method
    confidence status version lastValidated successRate avgProcessingMs errorCount createdAt";

const CSV: &str = "id,Account Name,Website,Annual Revenue,Phone\n\
1,Acme,acme.test,1200000,+1 555 0100\n\
2,Globex,globex.test,lots,+1 555 0101\n\
3,Initech,initech.test,not known,+1 555 0102\n";

/// A tenant whose CSV connector has been synced once: its fields auto-mapped and validated.
async fn synced(app: &TestApp) -> (TestTenant, String) {
    let t = app.sign_up().await;
    let rel = format!("t-{}", Uuid::now_v7().simple());
    let dir = app.files_of(&t).join(&rel);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("accounts.csv"), CSV).unwrap();
    let connector = app
        .create_connector(
            &t.token,
            "crm-export",
            "CSV",
            json!({ "path": format!("{rel}/accounts.csv"), "idColumn": "id" }),
        )
        .await;
    let run = app.sync(&t.token, &connector).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    (t, connector)
}

async fn grid(app: &TestApp, token: &str, args: Value) -> Value {
    let body = app
        .gql(
            &format!(
                "query($f: LineageFilter, $s: String, $o: LineageSort, $n: Int, $a: String) {{
                   lineageGrid(filter: $f, search: $s, sort: $o, first: $n, after: $a) {{
                     totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {ROW} }} }} }} }}"
            ),
            args,
            Some(token),
        )
        .await;
    body
}

fn rows(body: &Value) -> Vec<Value> {
    body["data"]["lineageGrid"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {body:#}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn fields(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["sourceField"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_grid_filters_searches_sorts_and_pages() {
    let app = spawn_app().await;
    let (t, _) = synced(&app).await;
    // A manual mapping in another source, still pending.
    app.create_mapping(&t.token, "industrycode", "account", "industry")
        .await;

    let all = grid(&app, &t.token, json!({})).await;
    let everything = rows(&all);
    assert_eq!(all["data"]["lineageGrid"]["totalCount"], everything.len());
    assert!(everything.len() >= 5, "{all:#}");
    // Default order: newest first.
    assert_eq!(everything[0]["sourceField"], "industrycode");
    assert_eq!(everything[0]["status"], "PENDING_REVIEW");

    // Validation figures from the sync: two of three revenues were not numbers.
    let revenue = everything
        .iter()
        .find(|r| r["sourceField"] == "Annual Revenue")
        .unwrap();
    assert_eq!(revenue["canonicalField"], "annual_revenue");
    assert_eq!(revenue["errorCount"], 2);
    assert_eq!(revenue["status"], "FAILED", "more failures than successes");
    assert!((revenue["successRate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert!(revenue["lastValidated"].is_string());
    assert!(revenue["avgProcessingMs"].as_f64().unwrap() >= 0.0);
    let name = everything
        .iter()
        .find(|r| r["sourceField"] == "Account Name")
        .unwrap();
    assert_eq!(name["successRate"], 1.0);
    assert_eq!(name["status"], "ACTIVE");

    // AND / OR / NOT over columns.
    let filtered = grid(
        &app,
        &t.token,
        json!({ "f": { "and": [
            { "column": "SOURCE_SYSTEM", "op": "EQ", "value": "crm-export" },
            { "or": [
                { "column": "ERROR_COUNT", "op": "GT", "value": 0 },
                { "column": "SOURCE_FIELD", "op": "IN", "value": ["Website", "Phone"] }
            ] },
            { "not": { "column": "SOURCE_FIELD", "op": "EQ", "value": "Phone" } }
        ] } }),
    )
    .await;
    let mut got = fields(&rows(&filtered));
    got.sort();
    assert_eq!(got, ["Annual Revenue", "Website"], "{filtered:#}");
    assert_eq!(filtered["data"]["lineageGrid"]["totalCount"], 2);

    // Confidence thresholds and date ranges.
    let confident = grid(
        &app,
        &t.token,
        json!({ "f": { "column": "CONFIDENCE", "op": "GTE", "value": 0.85 } }),
    )
    .await;
    assert!(rows(&confident)
        .iter()
        .all(|r| r["confidence"].as_f64().unwrap() >= 0.85));
    let future = grid(
        &app,
        &t.token,
        json!({ "f": { "column": "CREATED_AT", "op": "GT", "value": "2999-01-01T00:00:00Z" } }),
    )
    .await;
    assert_eq!(future["data"]["lineageGrid"]["totalCount"], 0);

    // Search: every word must begin a word of the row's text columns, any case; names split
    // at humps and separators, and also match run together.
    let found = grid(&app, &t.token, json!({ "s": "CRM-export revenue" })).await;
    assert_eq!(fields(&rows(&found)), ["Annual Revenue"]);
    for (search, expected) in [
        ("annual rev", vec!["Annual Revenue"]),
        ("annualrevenue", vec!["Annual Revenue"]),
        ("ANNUAL_REVENUE", vec!["Annual Revenue"]),
        ("industry hubspot", vec!["industrycode"]),
        ("industryc", vec!["industrycode"]),
        ("enue", vec![]),
        ("revenue hubspot", vec![]),
    ] {
        let found = grid(&app, &t.token, json!({ "s": search })).await;
        assert_eq!(fields(&rows(&found)), expected, "{search}: {found:#}");
        assert_eq!(
            found["data"]["lineageGrid"]["totalCount"],
            expected.len(),
            "{search}"
        );
    }

    // Sort by any column, paged with cursors: the pages add up to the sorted whole.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = grid(
            &app,
            &t.token,
            json!({ "o": { "column": "SOURCE_FIELD", "direction": "ASC" }, "n": 2, "a": after }),
        )
        .await;
        paged.extend(fields(&rows(&page)));
        let info = &page["data"]["lineageGrid"]["pageInfo"];
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    let mut expected = fields(&everything);
    expected.sort();
    assert_eq!(paged, expected);
    // Numeric sort with missing figures last when descending.
    let by_rate = grid(
        &app,
        &t.token,
        json!({ "o": { "column": "SUCCESS_RATE", "direction": "DESC" } }),
    )
    .await;
    let rates: Vec<f64> = rows(&by_rate)
        .iter()
        .map(|r| r["successRate"].as_f64().unwrap_or(-1.0))
        .collect();
    assert!(rates.windows(2).all(|w| w[0] >= w[1]), "{rates:?}");

    // The grid follows the mappings: an approval, then a new version with another target.
    let pending = everything[0]["id"].as_str().unwrap().to_owned();
    app.ok(
        "mutation($id: ID!) { approveMapping(id: $id) { id } }",
        json!({ "id": pending }),
        Some(&t.token),
    )
    .await;
    app.ok(
        "mutation($id: ID!, $i: UpdateMappingInput!) { updateMapping(id: $id, input: $i) { id } }",
        json!({ "id": pending, "i": { "canonicalEntity": "account", "canonicalField": "description" } }),
        Some(&t.token),
    )
    .await;
    let moved = grid(&app, &t.token, json!({ "s": "industrycode description" })).await;
    let moved = rows(&moved);
    assert_eq!(moved.len(), 1, "{moved:#?}");
    assert_eq!(moved[0]["id"], pending.as_str());
    assert_eq!(moved[0]["canonicalField"], "description");
    assert!(moved[0]["version"].as_i64().unwrap() >= 2);
    let old_target = grid(&app, &t.token, json!({ "s": "industrycode industry" })).await;
    assert_eq!(
        fields(&rows(&old_target)),
        ["industrycode"],
        "the name still begins with industry"
    );
    let gone = grid(&app, &t.token, json!({ "s": "industrycode indus", "f": { "column": "CANONICAL_FIELD", "op": "EQ", "value": "industry" } })).await;
    assert!(rows(&gone).is_empty(), "{gone:#}");
    let total = grid(&app, &t.token, json!({})).await;
    assert_eq!(
        total["data"]["lineageGrid"]["totalCount"],
        everything.len(),
        "one row per mapping, not per version"
    );
}

#[tokio::test]
async fn bad_grid_requests_name_the_problem_and_tenants_stay_apart() {
    let app = spawn_app().await;
    let (t, _) = synced(&app).await;
    for (args, field) in [
        (
            json!({ "f": { "column": "CONFIDENCE", "op": "CONTAINS", "value": "x" } }),
            "filter.op",
        ),
        (
            json!({ "f": { "column": "CONFIDENCE", "op": "EQ", "value": "high" } }),
            "filter.value",
        ),
        (
            json!({ "f": { "column": "METHOD", "op": "EQ", "value": "RAG", "and": [] } }),
            "filter",
        ),
        (json!({ "a": "not-a-cursor" }), "after"),
        (json!({ "n": 0 }), "first"),
    ] {
        let body = grid(&app, &t.token, args.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{args}: {body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["problems"][0]["field"], field,
            "{body:#}"
        );
    }
    let other = app.sign_up().await;
    let theirs = grid(&app, &other.token, json!({})).await;
    assert_eq!(theirs["data"]["lineageGrid"]["totalCount"], 0);
}

#[tokio::test]
async fn the_tree_goes_from_connector_to_targets_with_counts() {
    let app = spawn_app().await;
    let (t, connector) = synced(&app).await;
    let q = "query($c: ID!, $d: Int) { lineageTree(connectorId: $c, depth: $d) {
        kind name status counts { fields mapped pendingReview unmapped }
        children { kind name counts { fields mapped }
          children { kind name status confidence children { kind name status confidence } } } } }";
    let tree = app
        .ok(q, json!({ "c": connector, "d": 4 }), Some(&t.token))
        .await["lineageTree"]
        .clone();
    assert_eq!(tree["kind"], "CONNECTOR");
    assert_eq!(tree["name"], "crm-export");
    assert_eq!(tree["counts"]["fields"], 5);
    let c = &tree["counts"];
    assert_eq!(
        c["mapped"].as_u64().unwrap()
            + c["pendingReview"].as_u64().unwrap()
            + c["unmapped"].as_u64().unwrap(),
        5
    );
    let entity = &tree["children"][0];
    assert_eq!(entity["kind"], "SOURCE_ENTITY");
    assert_eq!(entity["name"], "accounts");
    let website = entity["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Website")
        .unwrap();
    assert_eq!(website["kind"], "SOURCE_FIELD");
    assert_eq!(website["status"], "ACTIVE");
    assert_eq!(website["children"][0]["kind"], "CANONICAL_FIELD");
    assert_eq!(website["children"][0]["name"], "account.website");

    let shallow = app
        .ok(q, json!({ "c": connector, "d": 1 }), Some(&t.token))
        .await;
    assert_eq!(shallow["lineageTree"]["children"], json!([]));
    let bad = app
        .gql(q, json!({ "c": connector, "d": 9 }), Some(&t.token))
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    let other = app.sign_up().await;
    let hidden = app
        .gql(q, json!({ "c": connector, "d": 2 }), Some(&other.token))
        .await;
    assert_eq!(error_code(&hidden), "NOT_FOUND");
}

#[tokio::test]
async fn the_graph_walks_both_ways_and_impact_counts_dependants() {
    let app = spawn_app().await;
    let (t, connector) = synced(&app).await;
    let q = "query($r: String!, $d: GraphDirection, $n: Int) { lineageGraph(rootId: $r, direction: $d, depth: $n) {
        truncated nodes { id kind name } edges { source target weight mappingId } } }";
    let website = format!("field:{connector}:accounts:Website");
    let g = app
        .ok(
            q,
            json!({ "r": website, "d": "BOTH", "n": 3 }),
            Some(&t.token),
        )
        .await["lineageGraph"]
        .clone();
    let kinds: Vec<&str> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "SOURCE_FIELD",
        "SOURCE_ENTITY",
        "CONNECTOR",
        "CANONICAL_FIELD",
        "CANONICAL_ENTITY",
        "CONSUMER",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing: {g:#}");
    }
    let connector_node = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "CONNECTOR")
        .unwrap();
    assert_eq!(connector_node["name"], "crm-export");
    let mapped = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == website.as_str())
        .unwrap();
    assert_eq!(mapped["target"], "canonical_field:account.website");
    assert_eq!(
        mapped["weight"], 3.0,
        "three values went through the mapping"
    );
    assert!(mapped["mappingId"].is_string());
    let consumer = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["target"] == "consumer:account")
        .unwrap();
    assert_eq!(consumer["weight"], 3.0, "three account records");

    // Upstream only from the canonical field: its sources, not its entity.
    let up = app
        .ok(
            q,
            json!({ "r": "canonical_field:account.website", "d": "UPSTREAM", "n": 1 }),
            Some(&t.token),
        )
        .await["lineageGraph"]
        .clone();
    let ids: Vec<&str> = up["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["canonical_field:account.website", website.as_str()]);

    let impact = app
        .ok(
            "query($f: String!) { lineageImpact(sourceFieldId: $f) { canonicalFields records } }",
            json!({ "f": website }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        impact["lineageImpact"]["canonicalFields"],
        json!(["account.website"])
    );
    assert_eq!(impact["lineageImpact"]["records"], 3);

    let bad = app
        .gql(
            q,
            json!({ "r": "nonsense", "d": "BOTH", "n": 2 }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    let null_direction = app.gql(q, json!({ "r": website }), Some(&t.token)).await;
    assert_eq!(
        error_code(&null_direction),
        "BAD_USER_INPUT",
        "{null_direction:#}"
    );
    let other = app.sign_up().await;
    let hidden = app
        .gql(
            q,
            json!({ "r": website, "d": "BOTH", "n": 2 }),
            Some(&other.token),
        )
        .await;
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    let theirs = app
        .ok(
            q,
            json!({ "r": "canonical_entity:account", "d": "UPSTREAM", "n": 3 }),
            Some(&other.token),
        )
        .await;
    assert_eq!(
        theirs["lineageGraph"]["edges"],
        json!([]),
        "another tenant's canonical nodes are empty"
    );
}

async fn export(app: &TestApp, token: &str, format: &str, filter: Value) -> Value {
    app.ok(
        "mutation($f: ExportFormat!, $filter: LineageFilter) { exportLineage(format: $f, filter: $filter) { url format rows bytes expiresAt } }",
        json!({ "f": format, "filter": filter }),
        Some(token),
    )
    .await["exportLineage"]
        .clone()
}

async fn download(app: &TestApp, url: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{url}", app.address))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn exports_are_written_by_duckdb_and_readable_by_duckdb_and_csv_parsers() {
    let app = spawn_app().await;
    let (t, _) = synced(&app).await;
    let total = grid(&app, &t.token, json!({})).await["data"]["lineageGrid"]["totalCount"]
        .as_u64()
        .unwrap();

    let csv_export = export(&app, &t.token, "CSV", Value::Null).await;
    assert_eq!(csv_export["rows"], total);
    let response = download(&app, csv_export["url"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let body = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_ref());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header[..4],
        ["id", "source_system", "source_table", "source_field"]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len() as u64, total);
    assert!(records
        .iter()
        .any(|r| &r[3] == "Annual Revenue" && &r[14] == "2"));

    let parquet = export(
        &app,
        &t.token,
        "PARQUET",
        json!({ "column": "ERROR_COUNT", "op": "GT", "value": 0 }),
    )
    .await;
    assert_eq!(parquet["rows"], 1);
    let bytes = download(&app, parquet["url"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    let file = std::env::temp_dir().join(format!("{}.parquet", Uuid::now_v7()));
    std::fs::write(&file, &bytes).unwrap();
    let db = autonomos::infra::analytics::open().unwrap();
    let (n, field): (i64, String) = db
        .query_row(
            &format!(
                "SELECT count(*), any_value(source_field) FROM read_parquet('{}')",
                file.display()
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, field.as_str()), (1, "Annual Revenue"));

    let json_export = export(&app, &t.token, "JSON", Value::Null).await;
    let rows: Value = download(&app, json_export["url"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows.as_array().unwrap().len() as u64, total);
    assert!(rows[0]["confidence"].is_number());

    let sql = export(&app, &t.token, "SQL", Value::Null).await;
    let text = download(&app, sql["url"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("CREATE TABLE IF NOT EXISTS lineage ("),
        "{text}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("INSERT INTO lineage"))
            .count() as u64,
        total
    );

    // Links are signed and expire.
    let url = csv_export["url"].as_str().unwrap();
    let tampered = url.replace("expires=", "expires=9");
    assert_eq!(download(&app, &tampered).await.status(), 403);
    let other = app.sign_up().await;
    let moved = url.replace(&t.tenant_id, &other.tenant_id);
    assert_eq!(
        download(&app, &moved).await.status(),
        403,
        "a link names its tenant"
    );
    let file_name = url.split('/').nth(3).unwrap().split('?').next().unwrap();
    let expired = autonomos::domains::lineage::export::signed_url(
        &app.services.exports,
        Uuid::parse_str(&t.tenant_id).unwrap(),
        file_name,
        chrono::Utc::now().timestamp() - 10,
    );
    assert_eq!(download(&app, &expired).await.status(), 410);

    // Files whose links can no longer work are removed when the tenant exports again.
    let dir = app.settings.exports.dir.join(&t.tenant_id);
    let long_ago = std::time::SystemTime::now()
        - std::time::Duration::from_secs(app.settings.exports.url_ttl_secs + 60);
    for stale in ["old-export.csv", "interrupted.staging.csv"] {
        let f = std::fs::File::create(dir.join(stale)).unwrap();
        f.set_modified(long_ago).unwrap();
    }
    let fresh = export(&app, &t.token, "CSV", Value::Null).await;
    assert!(!dir.join("old-export.csv").exists());
    assert!(!dir.join("interrupted.staging.csv").exists());
    assert_eq!(
        download(&app, url).await.status(),
        200,
        "recent exports stay"
    );
    assert_eq!(
        download(&app, fresh["url"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn metrics_report_coverage_methods_reviews_and_error_trends() {
    let app = spawn_app().await;
    let (t, connector) = synced(&app).await;
    // A field for review in another source.
    app.ok(
        "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { status } } }",
        json!({ "i": { "sourceSystem": "elsewhere", "sourceEntity": "things", "fields": [{ "name": "favourite_colour" }] } }),
        Some(&t.token),
    )
    .await;
    // Hour-aligned: exactly three hourly buckets, the current hour last.
    let now = chrono::DurationRound::duration_trunc(chrono::Utc::now(), chrono::Duration::hours(1))
        .unwrap();
    let q = "query($c: ID, $from: DateTime!, $to: DateTime!) { mappingMetrics(connectorId: $c, from: $from, to: $to, granularity: HOUR) {
        coverage { sourceFields sourceFieldsMapped sourceFieldShare canonicalFields canonicalFieldsPopulated canonicalFieldShare }
        confidenceHistogram { from to count } methods { method count share }
        reviewQueue { size oldestAgeSeconds medianAgeSeconds }
        errorTrend { at events eventsWithErrors valueErrors } } }";
    let vars = |c: Value| json!({ "c": c, "from": (now - chrono::Duration::hours(2)).to_rfc3339(), "to": (now + chrono::Duration::hours(1)).to_rfc3339() });
    let m = app.ok(q, vars(json!(connector)), Some(&t.token)).await["mappingMetrics"].clone();
    assert_eq!(m["coverage"]["sourceFields"], 5);
    assert_eq!(m["coverage"]["sourceFieldsMapped"], 5);
    assert_eq!(m["coverage"]["sourceFieldShare"], 1.0);
    assert_eq!(m["coverage"]["canonicalFieldsPopulated"], 5);
    assert!(m["coverage"]["canonicalFields"].as_u64().unwrap() > 50);
    let methods: u64 = m["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["count"].as_u64().unwrap())
        .sum();
    assert_eq!(methods, 5);
    let histogram: u64 = m["confidenceHistogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["count"].as_u64().unwrap())
        .sum();
    assert_eq!(histogram, 5);
    assert_eq!(m["reviewQueue"]["size"], 0, "the connector's own queue");
    let trend = m["errorTrend"].as_array().unwrap();
    assert_eq!(trend.len(), 3, "three hourly buckets: {trend:?}");
    let events: u64 = trend.iter().map(|p| p["events"].as_u64().unwrap()).sum();
    let errors: u64 = trend
        .iter()
        .map(|p| p["valueErrors"].as_u64().unwrap())
        .sum();
    assert_eq!(
        (events, errors),
        (3, 2),
        "3 events, 2 revenues that were not numbers"
    );

    let all = app.ok(q, vars(Value::Null), Some(&t.token)).await["mappingMetrics"].clone();
    assert_eq!(all["reviewQueue"]["size"], 1);
    assert!(all["reviewQueue"]["oldestAgeSeconds"].as_f64().unwrap() >= 0.0);
    let other = app.sign_up().await;
    let theirs = app.ok(q, vars(Value::Null), Some(&other.token)).await["mappingMetrics"].clone();
    let none: u64 = theirs["errorTrend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["events"].as_u64().unwrap())
        .sum();
    assert_eq!(none, 0, "another tenant's events are not counted");
    assert_eq!(theirs["coverage"]["sourceFields"], 0);
}

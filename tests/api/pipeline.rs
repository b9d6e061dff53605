//! Connectors → sync runs → canonical events and records with lineage, on the real stack.
use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_code, spawn_app, TestApp, TestTenant, SYNC_RUN};

/// A directory of its own under the server's file root; returns (absolute dir, relative dir).
fn scratch(app: &TestApp, tenant: &TestTenant) -> (PathBuf, String) {
    let rel = format!("t-{}", Uuid::now_v7().simple());
    let dir = app.files_of(tenant).join(&rel);
    std::fs::create_dir_all(&dir).unwrap();
    (dir, rel)
}

async fn csv_connector(app: &TestApp, token: &str, name: &str, path: &str) -> String {
    app.create_connector(
        token,
        name,
        "CSV",
        json!({ "path": path, "idColumn": "id" }),
    )
    .await
}

async fn sync(app: &TestApp, token: &str, connector: &str) -> Value {
    app.sync(token, connector).await
}

/// The connector's drift events as "KIND field", sorted, and the raw response.
async fn drift_kinds(app: &TestApp, token: &str, connector: &str) -> (Vec<String>, Value) {
    let drift = app
        .ok(
            "query($c: ID!) { driftEvents(connectorId: $c) { totalCount edges { node { kind fieldName previous current schemaVersion sourceEntity } } } }",
            json!({ "c": connector }),
            Some(token),
        )
        .await;
    let mut kinds: Vec<String> = drift["driftEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["node"]["kind"].as_str().unwrap(),
                e["node"]["fieldName"].as_str().unwrap()
            )
        })
        .collect();
    kinds.sort();
    (kinds, drift)
}

async fn events(app: &TestApp, token: &str, connector: &str) -> Vec<Value> {
    let data = app
        .ok(
            "query($c: ID!) { canonicalEvents(filter: { connectorId: $c }, first: 20) { totalCount edges { node {
                id entity canonicalId data extras errors { field sourceField value reason }
                meta { tenantId traceId schemaVersion emittedAt }
                source { system connectorId entity recordId recordVersion } } } } }",
            json!({ "c": connector }),
            Some(token),
        )
        .await;
    data["canonicalEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

const ACCOUNTS: &str = "id,Account Name,Website,Annual Revenue,Industry,Phone,Loyalty Colour\n\
1,Acme,acme.test,1200000,Manufacturing,+1 555 0100,teal\n\
2,Globex,globex.test,lots,Energy,+1 555 0101,red\n\
3,Initech,initech.test\n\
4,Umbrella,umbrella.test,990000,Pharma,+1 555 0103,\n";

#[tokio::test]
async fn a_csv_connector_syncs_into_canonical_records_with_lineage() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let (dir, rel) = scratch(&app, &t);
    std::fs::write(dir.join("accounts.csv"), ACCOUNTS).unwrap();
    let connector =
        csv_connector(&app, &t.token, "crm-export", &format!("{rel}/accounts.csv")).await;

    let run = sync(&app, &t.token, &connector).await;
    // Row 3 has too few fields: quarantined, the others flow.
    assert_eq!(run["status"], "PARTIAL", "{run:#}");
    let c = &run["counts"];
    assert_eq!(c["entities"], 1);
    assert_eq!(c["recordsRead"], 3);
    assert_eq!(c["quarantined"], 1);
    assert_eq!(c["eventsWritten"], 3, "{run:#}");
    assert_eq!(c["fieldsProposed"], 7);
    assert!(c["autoApplied"].as_u64().unwrap() >= 4, "{c}");
    assert_eq!(c["valueErrors"], 1, "Globex's revenue is not a number");
    let quarantined = app
        .ok(
            "query($id: ID!) { syncRun(id: $id) { quarantined { totalCount edges { node { rowNumber reason raw sourceEntity } } } } }",
            json!({ "id": run["id"] }),
            Some(&t.token),
        )
        .await;
    let q = &quarantined["syncRun"]["quarantined"];
    assert_eq!(q["totalCount"], 1);
    assert_eq!(q["edges"][0]["node"]["rowNumber"], 3);
    assert!(q["edges"][0]["node"]["reason"]
        .as_str()
        .unwrap()
        .contains("expected 7 fields, found 3"));

    let all = events(&app, &t.token, &connector).await;
    assert_eq!(all.len(), 3);
    let acme = all.iter().find(|e| e["source"]["recordId"] == "1").unwrap();
    assert_eq!(acme["entity"], "account");
    assert_eq!(acme["data"]["name"], "Acme");
    assert_eq!(acme["data"]["annual_revenue"], 1200000.0);
    assert_eq!(acme["meta"]["tenantId"], t.tenant_id.as_str());
    assert_eq!(acme["meta"]["traceId"], run["traceId"]);
    assert_eq!(acme["source"]["system"], "crm-export");
    assert_eq!(acme["source"]["connectorId"], connector.as_str());
    let globex = all.iter().find(|e| e["source"]["recordId"] == "2").unwrap();
    assert_eq!(globex["errors"][0]["field"], "annual_revenue");
    assert_eq!(globex["errors"][0]["value"], "lots");
    assert!(globex["data"].get("annual_revenue").is_none());
    assert_eq!(globex["data"]["name"], "Globex", "other values still flow");

    // The materialized record, each value with where it came from.
    let record = app
        .ok(
            "query($id: ID!) { canonicalRecord(entity: \"account\", id: $id) { entity id sourceRecordId extras
                fields { name value lineage { connector sourceSystem sourceEntity sourceField recordId mappingId mappingVersion at } } } }",
            json!({ "id": acme["canonicalId"] }),
            Some(&t.token),
        )
        .await["canonicalRecord"]
        .clone();
    let field = |name: &str| {
        record["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {record:#}"))
            .clone()
    };
    let name = field("name");
    assert_eq!(name["value"], "Acme");
    assert_eq!(name["lineage"]["connector"], connector.as_str());
    assert_eq!(name["lineage"]["sourceEntity"], "accounts");
    assert_eq!(name["lineage"]["sourceField"], "Account Name");
    assert_eq!(name["lineage"]["recordId"], "1");
    assert_eq!(name["lineage"]["mappingVersion"], 1);
    let mapping = app
        .ok(
            "query($id: ID!) { mapping(id: $id) { sourceField canonicalField isActive } }",
            json!({ "id": name["lineage"]["mappingId"] }),
            Some(&t.token),
        )
        .await;
    assert_eq!(mapping["mapping"]["canonicalField"], "name");
    assert_eq!(field("website")["lineage"]["sourceField"], "Website");

    // Re-syncing unchanged data writes nothing new.
    let again = sync(&app, &t.token, &connector).await;
    assert_eq!(again["counts"]["eventsWritten"], 0, "{again:#}");
    assert_eq!(again["counts"]["eventsUnchanged"], 3);
    assert_eq!(events(&app, &t.token, &connector).await.len(), 3);

    // A reviewed field flows on the next sync: new events through the new mapping.
    let queue = app
        .ok(
            "{ reviewQueue(first: 100) { edges { node { id sourceSystem sourceField } } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    let colour = queue["reviewQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["sourceSystem"] == "crm-export" && n["sourceField"] == "Loyalty Colour")
        .unwrap_or_else(|| panic!("Loyalty Colour is not in review: {queue:#}"))
        .clone();
    app.ok(
        "mutation($id: ID!) { editProposal(id: $id, canonicalEntity: \"account\", canonicalField: \"description\") { status } }",
        json!({ "id": colour["id"] }),
        Some(&t.token),
    )
    .await;
    let third = sync(&app, &t.token, &connector).await;
    assert_eq!(third["counts"]["eventsWritten"], 3, "{third:#}");
    let record = app
        .ok(
            "query($id: ID!) { canonicalRecord(entity: \"account\", id: $id) { extras fields { name value lineage { sourceField } } } }",
            json!({ "id": acme["canonicalId"] }),
            Some(&t.token),
        )
        .await;
    let fields = record["canonicalRecord"]["fields"].as_array().unwrap();
    let description = fields.iter().find(|f| f["name"] == "description").unwrap();
    assert_eq!(description["value"], "teal");
    assert_eq!(description["lineage"]["sourceField"], "Loyalty Colour");
}

#[tokio::test]
async fn schema_drift_is_recorded_and_mappings_follow_it() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let (dir, rel) = scratch(&app, &t);
    let file = dir.join("accounts.csv");
    std::fs::write(
        &file,
        "id,Account Name,Website,Industry,Employees\n1,Acme,acme.test,Manufacturing,120\n",
    )
    .unwrap();
    let connector = csv_connector(&app, &t.token, "drifty", &format!("{rel}/accounts.csv")).await;
    let first = sync(&app, &t.token, &connector).await;
    assert_eq!(first["status"], "SUCCEEDED", "{first:#}");
    assert_eq!(
        first["counts"]["driftEvents"], 0,
        "the first schema is a baseline, not drift"
    );

    // Website renamed, Industry removed, Phone added, Employees now decimal.
    std::fs::write(
        &file,
        "id,Account Name,Web Site,Employees,Phone\n1,Acme,acme.test,120.5,+1 555 0100\n",
    )
    .unwrap();
    let second = sync(&app, &t.token, &connector).await;
    assert_eq!(second["status"], "SUCCEEDED", "{second:#}");
    assert_eq!(second["counts"]["driftEvents"], 4, "{second:#}");
    assert_eq!(
        second["counts"]["fieldsProposed"], 1,
        "only the new field is proposed"
    );

    let (kinds, drift) = drift_kinds(&app, &t.token, &connector).await;
    assert_eq!(
        kinds,
        [
            "FIELD_ADDED Phone",
            "FIELD_REMOVED Industry",
            "FIELD_RENAMED Web Site",
            "TYPE_CHANGED Employees"
        ]
    );
    let renamed = drift["driftEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["kind"] == "FIELD_RENAMED")
        .unwrap();
    assert_eq!(renamed["node"]["previous"]["name"], "Website");
    assert_eq!(renamed["node"]["schemaVersion"], 2);

    // The removed field's mapping is deprecated; the renamed field kept its target.
    let maps = app
        .ok(
            "{ mappings(first: 100) { edges { node { sourceSystem sourceField canonicalField status isActive } } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    let of = |field: &str| {
        maps["mappings"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .find(|n| n["sourceSystem"] == "drifty" && n["sourceField"] == field)
            .unwrap_or_else(|| panic!("no mapping for {field}: {maps:#}"))
    };
    assert_eq!(of("Industry")["status"], "DEPRECATED");
    assert_eq!(of("Industry")["isActive"], false);
    assert_eq!(of("Web Site")["canonicalField"], "website");
    assert_eq!(of("Web Site")["isActive"], true);

    let all = events(&app, &t.token, &connector).await;
    let newest = all
        .iter()
        .find(|e| e["meta"]["schemaVersion"] == 2)
        .expect("an event under schema version 2");
    assert_eq!(newest["data"]["website"], "acme.test");
    assert!(newest["data"].get("industry").is_none());

    let timeline = app
        .ok(
            "query($c: ID!) { sourceSchemas(connectorId: $c) { sourceEntity version isCurrent fingerprint fields { name dataType } } }",
            json!({ "c": connector }),
            Some(&t.token),
        )
        .await;
    let versions = timeline["sourceSchemas"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 2);
    assert_eq!(versions[0]["isCurrent"], true);
    assert_eq!(versions[1]["isCurrent"], false);
    assert_ne!(versions[0]["fingerprint"], versions[1]["fingerprint"]);
}

#[tokio::test]
async fn a_crashed_run_resumes_from_its_checkpoint_without_duplicates() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let (dir, rel) = scratch(&app, &t);
    let file = dir.join("contacts.csv");
    let rows = |n: usize| {
        let mut s = String::from("id,First Name,Last Name,Email\n");
        for i in 1..=n {
            s += &format!("{i},Ada{i},Lovelace{i},ada{i}@example.com\n");
        }
        s
    };
    // What the crashed process managed: the first 60 rows stored (the test's batch is 50).
    std::fs::write(&file, rows(60)).unwrap();
    let connector = csv_connector(&app, &t.token, "crashy", &format!("{rel}/contacts.csv")).await;
    let first = sync(&app, &t.token, &connector).await;
    assert_eq!(first["counts"]["eventsWritten"], 60, "{first:#}");

    // A run that died after its checkpoint at row 40: RUNNING, no heartbeat for ten minutes.
    std::fs::write(&file, rows(120)).unwrap();
    let owner = Database::connect(app.settings.database.migration_url.expose_secret())
        .await
        .unwrap();
    let job = Uuid::now_v7();
    owner
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO jobs (id, tenant_id, kind, status, connector_id, payload, counts, attempts, started_at, heartbeat_at)
             VALUES ($1, $2, 'SYNC', 'RUNNING', $3, $4, $5, 1, now() - interval '11 minutes', now() - interval '10 minutes')",
            [
                job.into(),
                Uuid::parse_str(&t.tenant_id).unwrap().into(),
                Uuid::parse_str(&connector).unwrap().into(),
                json!({ "traceId": "crashed-run", "checkpoints": { "contacts": 40 } }).into(),
                json!({ "entities": 1, "recordsRead": 40, "eventsWritten": 40 }).into(),
            ],
        ))
        .await
        .unwrap();

    let resumed = autonomos::domains::pipeline::service::resume_stale(&app.services.pipeline, true)
        .await
        .unwrap();
    assert!(resumed >= 1);
    let run = app
        .ok(
            &format!("query($id: ID!) {{ syncRun(id: $id) {{ {SYNC_RUN} }} }}"),
            json!({ "id": job.to_string() }),
            Some(&t.token),
        )
        .await["syncRun"]
        .clone();
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["attempts"], 2);
    assert_eq!(run["traceId"], "crashed-run");
    // Rows 41–60 were already there: skipped, not duplicated; 61–120 are new.
    assert_eq!(run["counts"]["eventsUnchanged"], 20, "{run:#}");
    assert_eq!(run["counts"]["eventsWritten"], 40 + 60, "{run:#}");
    let total = app
        .ok(
            "query($c: ID!) { canonicalEvents(filter: { connectorId: $c }) { totalCount } }",
            json!({ "c": connector }),
            Some(&t.token),
        )
        .await;
    assert_eq!(total["canonicalEvents"]["totalCount"], 120);
    // Nothing claims a finished run again.
    let again = autonomos::domains::pipeline::service::resume_stale(&app.services.pipeline, true)
        .await
        .unwrap();
    let after = app
        .ok(
            "query($id: ID!) { syncRun(id: $id) { attempts } }",
            json!({ "id": job.to_string() }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        after["syncRun"]["attempts"], 2,
        "resumed {again} other runs"
    );
}

#[tokio::test]
async fn the_per_tenant_run_limit_is_shared_by_processes_through_redis() {
    use autonomos::domains::jobs::slots;
    let one = spawn_app().await;
    let two = spawn_app().await;
    let tenant = Uuid::now_v7();
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    assert!(slots::acquire(&one.state.redis, tenant, a, 2, 30_000)
        .await
        .unwrap());
    assert!(slots::acquire(&two.state.redis, tenant, b, 2, 30_000)
        .await
        .unwrap());
    assert!(
        !slots::acquire(&one.state.redis, tenant, c, 2, 30_000)
            .await
            .unwrap(),
        "third run waits"
    );
    assert!(
        slots::acquire(&two.state.redis, tenant, a, 2, 30_000)
            .await
            .unwrap(),
        "a holder renews"
    );
    assert!(
        slots::acquire(&one.state.redis, Uuid::now_v7(), c, 2, 30_000)
            .await
            .unwrap(),
        "other tenants are not limited"
    );
    slots::release(&one.state.redis, tenant, a).await.unwrap();
    assert!(slots::acquire(&two.state.redis, tenant, c, 2, 30_000)
        .await
        .unwrap());
    // A process that dies stops renewing: its lease expires.
    let d = Uuid::now_v7();
    let other = Uuid::now_v7();
    assert!(slots::acquire(&one.state.redis, other, d, 1, 50)
        .await
        .unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    assert!(
        slots::acquire(&two.state.redis, other, Uuid::now_v7(), 1, 30_000)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn unreadable_sources_fail_the_run_with_a_reason() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let missing = csv_connector(&app, &t.token, "missing", "no/such/file.csv").await;
    let run = sync(&app, &t.token, &missing).await;
    assert_eq!(run["status"], "FAILED");
    assert!(
        run["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("source unavailable"),
        "{run:#}"
    );
    let outside = csv_connector(&app, &t.token, "outside", "/etc/passwd").await;
    let run = sync(&app, &t.token, &outside).await;
    assert_eq!(run["status"], "FAILED");
    assert!(
        run["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("outside this tenant's files"),
        "{run:#}"
    );

    // Nothing listens on 127.0.0.1:1.
    let pg = app
        .create_connector(
            &t.token,
            "db",
            "POSTGRES",
            json!({ "host": "127.0.0.1", "port": 1, "database": "crm", "user": "reader", "sslMode": "disable" }),
        )
        .await;
    let run = sync(&app, &t.token, &pg).await;
    assert_eq!(run["status"], "FAILED");
    assert!(
        run["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot connect to 127.0.0.1:1"),
        "{run:#}"
    );
}

#[tokio::test]
async fn a_postgres_source_is_introspected_read_and_drift_checked() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let owner = Database::connect(app.settings.database.migration_url.expose_secret())
        .await
        .unwrap();
    let schema = format!("src_{}", Uuid::now_v7().simple());
    owner
        .execute_unprepared(&format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.accounts (id serial PRIMARY KEY, account_name text, website text,
                 annual_revenue numeric, created_at timestamptz DEFAULT '2024-01-02T03:04:05Z');
             INSERT INTO {schema}.accounts (account_name, website, annual_revenue)
                 VALUES ('Acme', 'acme.test', 1200000), ('Globex', 'globex.test', 350000), ('Initech', NULL, NULL);"
        ))
        .await
        .unwrap();
    let url = url::Url::parse(app.settings.database.migration_url.expose_secret()).unwrap();
    // The platform's own database is never a source; the same server reached through another
    // address (as a source on the operator-allowed network would be) is.
    let forwarded = crate::helpers::tcp_forward(&format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port().unwrap()
    ))
    .await;
    let connector = app
        .create_connector(
            &t.token,
            "warehouse",
            "POSTGRES",
            json!({ "host": "127.0.0.1", "port": forwarded, "database": url.path().trim_start_matches('/'),
                    "user": url.username(), "password": url.password().unwrap(), "schema": schema, "sslMode": "disable" }),
        )
        .await;
    let run = sync(&app, &t.token, &connector).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["counts"]["recordsRead"], 3);
    let all = events(&app, &t.token, &connector).await;
    let acme = all.iter().find(|e| e["source"]["recordId"] == "1").unwrap();
    assert_eq!(acme["entity"], "account");
    assert_eq!(acme["data"]["name"], "Acme");
    assert_eq!(acme["data"]["annual_revenue"], 1200000.0);
    assert_eq!(acme["source"]["entity"], "accounts");

    owner
        .execute_unprepared(&format!(
            "ALTER TABLE {schema}.accounts RENAME COLUMN website TO web_site;
             ALTER TABLE {schema}.accounts ADD COLUMN industry text DEFAULT 'Energy';"
        ))
        .await
        .unwrap();
    let second = sync(&app, &t.token, &connector).await;
    assert_eq!(second["counts"]["driftEvents"], 2, "{second:#}");
    let (kinds, _) = drift_kinds(&app, &t.token, &connector).await;
    assert_eq!(kinds, ["FIELD_ADDED industry", "FIELD_RENAMED web_site"]);
    owner
        .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

#[tokio::test]
async fn runs_records_and_drift_stay_in_their_tenant() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    let (dir, rel) = scratch(&app, &a);
    std::fs::write(dir.join("accounts.csv"), ACCOUNTS).unwrap();
    let connector = csv_connector(&app, &a.token, "private", &format!("{rel}/accounts.csv")).await;
    let run = sync(&app, &a.token, &connector).await;
    let record = events(&app, &a.token, &connector).await[0]["canonicalId"].clone();
    let attempts = [
        (
            "mutation($id: ID!) { syncConnector(id: $id) { id } }",
            json!({ "id": connector }),
        ),
        (
            "query($id: ID!) { syncRun(id: $id) { id } }",
            json!({ "id": run["id"] }),
        ),
        (
            "query($id: ID!) { syncRuns(connectorId: $id) { totalCount } }",
            json!({ "id": connector }),
        ),
        (
            "query($id: ID!) { driftEvents(connectorId: $id) { totalCount } }",
            json!({ "id": connector }),
        ),
        (
            "query($id: ID!) { sourceSchemas(connectorId: $id) { version } }",
            json!({ "id": connector }),
        ),
        (
            "query($id: ID!) { canonicalRecord(entity: \"account\", id: $id) { id } }",
            json!({ "id": record }),
        ),
    ];
    for (query, vars) in attempts {
        let body = app.gql(query, vars, Some(&b.token)).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body:#}");
    }
    let theirs = app
        .ok(
            "{ canonicalEvents { totalCount } syncRuns { totalCount } }",
            json!({}),
            Some(&b.token),
        )
        .await;
    assert_eq!(theirs["canonicalEvents"]["totalCount"], 0);
    assert_eq!(theirs["syncRuns"]["totalCount"], 0);
}

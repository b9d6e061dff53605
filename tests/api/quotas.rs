//! Per-tenant quotas: connectors, proposed fields per month, events per hour; `usage` reports.
use autonomos::domains::quotas::service::{self as quotas, Override};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp};

const USAGE: &str = "{ usage {
    connectors { used limit remaining resetsAt }
    proposalsThisMonth { used limit remaining resetsAt }
    eventsThisHour { used limit remaining resetsAt } } }";

async fn usage(app: &TestApp, token: &str) -> Value {
    app.ok(USAGE, json!({}), Some(token)).await["usage"].clone()
}

async fn create_connector(app: &TestApp, token: &str, name: &str) -> Value {
    app.gql(
        "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }",
        json!({ "i": { "name": name, "kind": "CSV", "config": { "path": "x.csv" } } }),
        Some(token),
    )
    .await
}

const PROPOSE: &str = "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { sourceField } } }";

async fn propose(app: &TestApp, token: &str, fields: &[&str]) -> Value {
    let fields: Vec<Value> = fields.iter().map(|f| json!({ "name": f })).collect();
    app.gql(
        PROPOSE,
        json!({ "i": { "sourceSystem": "quota", "sourceEntity": "companies", "fields": fields } }),
        Some(token),
    )
    .await
}

#[tokio::test]
async fn connectors_stop_at_the_quota_even_when_created_at_once_and_free_up_on_delete() {
    let app = spawn_app_with(|s| s.quotas.connectors = 3).await;
    let t = app.sign_up().await;
    let u = usage(&app, &t.token).await;
    assert_eq!(
        u["connectors"],
        json!({ "used": 0, "limit": 3, "remaining": 3, "resetsAt": null })
    );

    // Eight at once: exactly three get through.
    let names: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
    let tries = names.iter().map(|n| create_connector(&app, &t.token, n));
    let results = futures_util::future::join_all(tries).await;
    let created: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("errors").is_none())
        .collect();
    assert_eq!(created.len(), 3, "{results:#?}");
    for refused in results.iter().filter(|r| r.get("errors").is_some()) {
        assert_eq!(error_code(refused), "QUOTA_EXCEEDED");
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("connector quota reached: 3 of 3 used"),
            "{message}"
        );
    }
    assert_eq!(usage(&app, &t.token).await["connectors"]["remaining"], 0);

    let id = created[0]["data"]["createConnector"]["id"].clone();
    app.ok(
        "mutation($id: ID!) { deleteConnector(id: $id) { id } }",
        json!({ "id": id }),
        Some(&t.token),
    )
    .await;
    assert!(create_connector(&app, &t.token, "again")
        .await
        .get("errors")
        .is_none());

    // Another tenant has a quota of its own.
    let other = app.sign_up().await;
    assert_eq!(usage(&app, &other.token).await["connectors"]["used"], 0);
    assert!(create_connector(&app, &other.token, "c0")
        .await
        .get("errors")
        .is_none());
}

#[tokio::test]
async fn proposals_are_metered_per_field_and_a_refused_call_costs_and_writes_nothing() {
    let app = spawn_app_with(|s| s.quotas.proposals_per_month = 10).await;
    let t = app.sign_up().await;
    let ok = propose(
        &app,
        &t.token,
        &["name", "website", "phone", "industry", "city", "zip"],
    )
    .await;
    assert!(ok.get("errors").is_none(), "{ok:#}");

    let refused = propose(
        &app,
        &t.token,
        &["email", "country", "state", "street", "fax"],
    )
    .await;
    assert_eq!(error_code(&refused), "QUOTA_EXCEEDED", "{refused:#}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("6 of 10 used, 5 more asked"), "{message}");
    let mappings = app
        .ok(
            "{ mappings(filter: { sourceSystem: \"quota\" }, first: 50) { edges { node { sourceField } } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    let fields: Vec<&str> = mappings["mappings"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["sourceField"].as_str().unwrap())
        .collect();
    assert!(
        !fields.contains(&"email"),
        "a refused call wrote {fields:?}"
    );

    let u = usage(&app, &t.token).await;
    let p = &u["proposalsThisMonth"];
    assert_eq!(
        (p["used"].as_u64(), p["limit"].as_u64()),
        (Some(6), Some(10))
    );
    // The quota starts afresh on the first of next month (UTC).
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let next = if today.month() == 12 {
        chrono::NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(today.year(), today.month() + 1, 1)
    }
    .unwrap();
    let resets: chrono::DateTime<chrono::Utc> = p["resetsAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(resets.date_naive(), next);
    assert_eq!(resets.format("%H:%M:%S").to_string(), "00:00:00");

    // What is left can still be used, to the last field.
    assert!(
        propose(&app, &t.token, &["email", "country", "state", "street"])
            .await
            .get("errors")
            .is_none()
    );
    assert_eq!(
        usage(&app, &t.token).await["proposalsThisMonth"]["remaining"],
        0
    );
    assert_eq!(
        error_code(&propose(&app, &t.token, &["fax"]).await),
        "QUOTA_EXCEEDED"
    );
}

#[tokio::test]
async fn a_sync_run_stops_at_the_event_quota_keeping_the_batches_written() {
    // Batches of 50 (test settings): the third batch would pass 120 and is rolled back.
    let app = spawn_app_with(|s| s.quotas.events_per_hour = 120).await;
    let t = app.sign_up().await;
    let rel = format!("q-{}", Uuid::now_v7().simple());
    let dir = app.files_of(&t).join(&rel);
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("id,Account Name,Website\n");
    for i in 0..200 {
        csv.push_str(&format!("{i},Company {i},c{i}.test\n"));
    }
    std::fs::write(dir.join("accounts.csv"), csv).unwrap();
    let connector = app
        .create_connector(
            &t.token,
            "metered",
            "CSV",
            json!({ "path": format!("{rel}/accounts.csv"), "idColumn": "id" }),
        )
        .await;
    let run = app.sync(&t.token, &connector).await;
    // Partial: what was written stays, the error says why the rest was not.
    assert_eq!(run["status"], "PARTIAL", "{run:#}");
    assert_eq!(run["counts"]["eventsWritten"], 100, "{run:#}");
    let error = run["errors"][0]["message"].as_str().unwrap();
    assert!(
        error.contains(
            "event quota (canonical events per hour) reached: 100 of 120 used, 50 more asked"
        ),
        "{error}"
    );
    let e = &usage(&app, &t.token).await["eventsThisHour"];
    assert_eq!(
        (e["used"].as_u64(), e["remaining"].as_u64()),
        (Some(100), Some(20))
    );
    let records = app
        .ok(
            "query($c: ID!) { canonicalEvents(filter: { connectorId: $c }, first: 1) { totalCount } }",
            json!({ "c": connector }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        records["canonicalEvents"]["totalCount"], 100,
        "kept what was written"
    );
}

#[tokio::test]
async fn an_operator_override_applies_to_one_tenant_and_the_app_role_cannot_write_it() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    let tenant: Uuid = a.tenant_id.parse().unwrap();
    let change = Override {
        connectors: Some(1),
        events_per_hour: Some(7),
        ..Override::default()
    };
    quotas::set_override(&app.settings.database, tenant, change)
        .await
        .unwrap();
    let u = usage(&app, &a.token).await;
    assert_eq!(u["connectors"]["limit"], 1);
    assert_eq!(u["eventsThisHour"]["limit"], 7);
    assert_eq!(
        u["proposalsThisMonth"]["limit"],
        app.settings.quotas.proposals_per_month
    );
    assert_eq!(
        usage(&app, &b.token).await["connectors"]["limit"],
        app.settings.quotas.connectors
    );
    assert!(create_connector(&app, &a.token, "one")
        .await
        .get("errors")
        .is_none());
    assert_eq!(
        error_code(&create_connector(&app, &a.token, "two").await),
        "QUOTA_EXCEEDED"
    );

    // Flags left out keep their value; reset goes back to the defaults.
    let more = Override {
        proposals_per_month: Some(5),
        ..Override::default()
    };
    quotas::set_override(&app.settings.database, tenant, more)
        .await
        .unwrap();
    assert_eq!(usage(&app, &a.token).await["connectors"]["limit"], 1);
    let reset = Override {
        reset: true,
        ..Override::default()
    };
    quotas::set_override(&app.settings.database, tenant, reset)
        .await
        .unwrap();
    let u = usage(&app, &a.token).await;
    assert_eq!(u["connectors"]["limit"], app.settings.quotas.connectors);
    assert!(
        quotas::set_override(&app.settings.database, Uuid::new_v4(), change)
            .await
            .is_err(),
        "unknown tenant"
    );

    // The app role (row-level security) cannot raise its own limits.
    let db = Database::connect(app.settings.database.url.expose_secret())
        .await
        .unwrap();
    let tx = db.begin().await.unwrap();
    tx.execute(Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT set_config('app.tenant_id', '{tenant}', true)"),
    ))
    .await
    .unwrap();
    let raised = tx
        .execute(Statement::from_string(
            DbBackend::Postgres,
            format!("UPDATE tenant_quotas SET connectors = 1000 WHERE tenant_id = '{tenant}'"),
        ))
        .await
        .unwrap();
    assert_eq!(raised.rows_affected(), 0);
    let inserted = tx
        .execute(Statement::from_string(
            DbBackend::Postgres,
            format!("INSERT INTO tenant_quotas (tenant_id, connectors) VALUES ('{tenant}', 1000) ON CONFLICT DO NOTHING"),
        ))
        .await;
    assert!(inserted.is_err(), "no insert policy for the app role");
}

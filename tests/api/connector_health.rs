//! Connector health: connection tests and sync runs against a local source that fails and
//! recovers on cue.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::fake_api::{FakeApi, Response};
use crate::helpers::{spawn_app_with, TestApp};
use crate::rest_sources::shipped;

const TEST: &str = "mutation($id: ID!) { testConnection(id: $id) { ok message entities latencyMs
    health { state consecutiveFailures lastSuccessAt lastError circuitBreaker } } }";
const CONNECTOR: &str = "query($id: ID!) { connector(id: $id) { status
    health { state consecutiveFailures lastSuccessAt lastError lastErrorAt checkedAt circuitBreaker } } }";

async fn test(app: &TestApp, token: &str, id: &str) -> Value {
    app.ok(TEST, json!({ "id": id }), Some(token)).await["testConnection"].clone()
}

async fn connector(app: &TestApp, token: &str, id: &str) -> Value {
    app.ok(CONNECTOR, json!({ "id": id }), Some(token)).await["connector"].clone()
}

#[tokio::test]
async fn health_follows_failures_and_recovers_by_itself() {
    let down = Arc::new(AtomicBool::new(false));
    let api = {
        let down = down.clone();
        FakeApi::start(move |r| {
            if down.load(Ordering::SeqCst) {
                return Response::status(503);
            }
            if r.path != "/v1/customers" {
                return Response::json(json!({ "object": "list", "data": [], "has_more": false }));
            }
            Response::json(json!({ "object": "list", "has_more": false, "data": [
                { "id": "cus_1", "object": "customer", "name": "Ada", "email": "ada@example.com", "created": 1700000000 }] }))
        })
        .await
    };
    // Two failures in a row make a connector FAILING here (3 by default).
    let app = spawn_app_with(|s| s.sync.failing_after = 2).await;
    let t = app.sign_up().await;
    let mut config = shipped("stripe", &api.url);
    // No retries and a breaker that stays closed: each test is one failure.
    config["retry"] = json!({ "maxAttempts": 1, "baseDelayMs": 10, "maxDelayMs": 20 });
    config["circuitBreaker"] = json!({ "failureThreshold": 100, "resetAfterMs": 1000 });
    let id = app
        .create_connector(&t.token, "stripe", "REST", config)
        .await;

    let fresh = connector(&app, &t.token, &id).await;
    assert_eq!(fresh["health"]["state"], "UNKNOWN", "{fresh:#}");

    let ok = test(&app, &t.token, &id).await;
    assert_eq!(ok["ok"], true, "{ok:#}");
    assert!(
        ok["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "customers"),
        "{ok:#}"
    );
    assert_eq!(ok["health"]["state"], "HEALTHY");
    assert_eq!(ok["message"], "GET /v1/customers answered", "one page read");
    assert_eq!(ok["health"]["circuitBreaker"], "CLOSED");
    assert!(ok["health"]["lastSuccessAt"].is_string());
    let nothing = app
        .ok(
            "query($c: ID) { canonicalEvents(filter: { connectorId: $c }) { totalCount } }",
            json!({ "c": id }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        nothing["canonicalEvents"]["totalCount"], 0,
        "a test writes nothing"
    );

    // The source goes down: degraded, then failing with status ERROR after two in a row.
    down.store(true, Ordering::SeqCst);
    let first = test(&app, &t.token, &id).await;
    assert_eq!(
        first["ok"], false,
        "a failed test is an answer, not a GraphQL error"
    );
    assert!(
        first["message"].as_str().unwrap().contains("503"),
        "{first:#}"
    );
    assert_eq!(first["health"]["state"], "DEGRADED");
    assert_eq!(connector(&app, &t.token, &id).await["status"], "ACTIVE");
    // A failed sync run counts too.
    let run = app.sync(&t.token, &id).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    let failing = connector(&app, &t.token, &id).await;
    assert_eq!(failing["health"]["state"], "FAILING", "{failing:#}");
    assert_eq!(failing["health"]["consecutiveFailures"], 2);
    assert!(failing["health"]["lastError"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
    assert_eq!(failing["status"], "ERROR", "{failing:#}");

    // Back up: the next success makes it healthy and ACTIVE again, by itself.
    down.store(false, Ordering::SeqCst);
    let run = app.sync(&t.token, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    let healthy = connector(&app, &t.token, &id).await;
    assert_eq!(healthy["health"]["state"], "HEALTHY", "{healthy:#}");
    assert_eq!(healthy["health"]["consecutiveFailures"], 0);
    assert_eq!(healthy["status"], "ACTIVE");

    // Unattended, the schema observer's checks count too: down, then back.
    let check = "mutation($c: ID!) { checkSchema(connectorId: $c) { entities } }";
    down.store(true, Ordering::SeqCst);
    let refused = app.gql(check, json!({ "c": id }), Some(&t.token)).await;
    assert!(refused["errors"].is_array(), "{refused:#}");
    let degraded = connector(&app, &t.token, &id).await;
    assert_eq!(degraded["health"]["state"], "DEGRADED", "{degraded:#}");
    assert_eq!(degraded["health"]["consecutiveFailures"], 1);
    down.store(false, Ordering::SeqCst);
    app.ok(check, json!({ "c": id }), Some(&t.token)).await;
    let back = connector(&app, &t.token, &id).await;
    assert_eq!(back["health"]["state"], "HEALTHY", "{back:#}");

    // A person's PAUSED is never changed by health.
    app.ok(
        "mutation($id: ID!) { updateConnector(id: $id, input: { status: PAUSED }) { id } }",
        json!({ "id": id }),
        Some(&t.token),
    )
    .await;
    down.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        test(&app, &t.token, &id).await;
    }
    down.store(false, Ordering::SeqCst);
    test(&app, &t.token, &id).await;
    assert_eq!(connector(&app, &t.token, &id).await["status"], "PAUSED");
}

#[tokio::test]
async fn a_connection_test_reads_one_row_of_a_csv_source_and_writes_nothing() {
    let app = spawn_app_with(|_| {}).await;
    let t = app.sign_up().await;
    let dir = app.files_of(&t).join("health");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("leads.csv"), "id,name\n1,Ada\n2,Grace\n").unwrap();
    let id = app
        .create_connector(
            &t.token,
            "files",
            "CSV",
            json!({ "path": "health/leads.csv", "idColumn": "id" }),
        )
        .await;
    let ok = test(&app, &t.token, &id).await;
    assert_eq!(ok["ok"], true, "{ok:#}");
    assert!(
        ok["message"]
            .as_str()
            .unwrap()
            .contains("first row readable"),
        "{ok:#}"
    );
    assert_eq!(ok["health"]["state"], "HEALTHY");
    let nothing = app
        .ok(
            "query($c: ID) { canonicalEvents(filter: { connectorId: $c }) { totalCount } }",
            json!({ "c": id }),
            Some(&t.token),
        )
        .await;
    assert_eq!(nothing["canonicalEvents"]["totalCount"], 0);
}

#[tokio::test]
async fn a_page_of_connectors_shows_each_ones_own_health_and_schedule() {
    let app = spawn_app_with(|_| {}).await;
    let t = app.sign_up().await;
    let dir = app.files_of(&t).join("page");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.csv"), "id,name\n1,Ada\n").unwrap();
    let csv = |file: &str| json!({ "path": format!("page/{file}"), "idColumn": "id" });
    let tested = app
        .create_connector(&t.token, "tested", "CSV", csv("a.csv"))
        .await;
    let missing = app
        .create_connector(&t.token, "missing", "CSV", csv("gone.csv"))
        .await;
    let untouched = app
        .create_connector(&t.token, "untouched", "CSV", csv("a.csv"))
        .await;
    assert_eq!(test(&app, &t.token, &tested).await["ok"], true);
    assert_eq!(test(&app, &t.token, &missing).await["ok"], false);
    app.ok(
        "mutation($c: ID!) { setSyncSchedule(connectorId: $c, schedule: { intervalSeconds: 3600 }) { enabled } }",
        json!({ "c": untouched }),
        Some(&t.token),
    )
    .await;
    let page = app
        .ok(
            "{ connectors(first: 10) { edges { node { id health { state consecutiveFailures } schedule { intervalSeconds } } } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    let of = |id: &str| {
        page["connectors"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .find(|n| n["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(of(&tested)["health"]["state"], "HEALTHY");
    assert!(of(&tested)["schedule"].is_null());
    assert_eq!(of(&missing)["health"]["state"], "DEGRADED");
    assert_eq!(of(&missing)["health"]["consecutiveFailures"], 1);
    assert_eq!(of(&untouched)["health"]["state"], "UNKNOWN");
    assert_eq!(of(&untouched)["schedule"]["intervalSeconds"], 3600);
    // One connector asked for alone says the same.
    let one = connector(&app, &t.token, &missing).await;
    assert_eq!(one["health"]["state"], "DEGRADED");
}

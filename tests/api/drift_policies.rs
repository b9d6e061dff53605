//! The schema observer: drift recorded without a sync, on the connector's own cadence, and each
//! drift policy doing what it says. On the workers' database (its processes observe).
use std::time::{Duration, Instant};

use autonomos::domains::pipeline::dispatch;
use serde_json::{json, Value};

use crate::helpers::{error_code, TestApp, TestTenant};
use crate::workers::{app_with, miss_slots, runs, schedule_of, SET};

const BEFORE: &str =
    "id,Account Name,Website,Industry,Employees\n1,Acme,acme.test,Manufacturing,120\n";
/// Website renamed, Industry removed, Phone added, Employees now decimal.
const AFTER: &str =
    "id,Account Name,Web Site,Employees,Phone\n1,Acme,acme.test,120.5,+1 555 0100\n";

/// A CSV connector synced once (its schema and mappings in place), with `policy` and checks an
/// hour apart (so no process checks it before the test does), its file then changed.
async fn drifted(app: &TestApp, t: &TestTenant, name: &str, policy: &str, every: i32) -> String {
    let dir = app.files_of(t).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("accounts.csv");
    std::fs::write(&file, BEFORE).unwrap();
    let connector = app
        .create_connector(
            &t.token,
            name,
            "CSV",
            json!({ "path": format!("{name}/accounts.csv"), "idColumn": "id" }),
        )
        .await;
    let first = app.sync(&t.token, &connector).await;
    assert_eq!(first["status"], "SUCCEEDED", "{first:#}");
    let set = app
        .ok(
            "mutation($c: ID!, $p: DriftPolicy!, $s: Int) { setDriftPolicy(connectorId: $c, policy: $p, checkIntervalSeconds: $s) { driftPolicy checkIntervalSeconds nextCheckAt } }",
            json!({ "c": connector, "p": policy, "s": every }),
            Some(&t.token),
        )
        .await;
    assert_eq!(set["setDriftPolicy"]["driftPolicy"], policy);
    std::fs::write(&file, AFTER).unwrap();
    connector
}

async fn check(app: &TestApp, token: &str, connector: &str) -> Value {
    app.ok(
        "mutation($c: ID!) { checkSchema(connectorId: $c) { entities changes breaking proposed held } }",
        json!({ "c": connector }),
        Some(token),
    )
    .await["checkSchema"]
        .clone()
}

async fn observer(app: &TestApp, token: &str, connector: &str) -> Value {
    app.ok(
        "query($c: ID!) { schemaObserver(connectorId: $c) { driftPolicy checkIntervalSeconds nextCheckAt lastCheckedAt lastError heldSince heldReason } }",
        json!({ "c": connector }),
        Some(token),
    )
    .await["schemaObserver"]
        .clone()
}

/// The connector's mappings by source field: (status, canonical field).
async fn mappings(app: &TestApp, token: &str, system: &str) -> Vec<(String, String, String)> {
    let maps = app
        .ok(
            "{ mappings(first: 100) { edges { node { sourceSystem sourceField canonicalField status } } } }",
            json!({}),
            Some(token),
        )
        .await;
    let mut out: Vec<_> = maps["mappings"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["sourceSystem"] == system)
        .map(|n| {
            (
                n["sourceField"].as_str().unwrap().to_owned(),
                n["status"].as_str().unwrap().to_owned(),
                n["canonicalField"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn status_of<'a>(maps: &'a [(String, String, String)], field: &str) -> Option<&'a str> {
    maps.iter().find(|m| m.0 == field).map(|m| m.1.as_str())
}

async fn breaking_fields(app: &TestApp, token: &str, connector: &str) -> Vec<String> {
    let drift = app
        .ok(
            "query($c: ID!) { driftEvents(connectorId: $c) { edges { node { kind fieldName breaking } } } }",
            json!({ "c": connector }),
            Some(token),
        )
        .await;
    let mut out: Vec<String> = drift["driftEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["breaking"] == true)
        .map(|n| {
            format!(
                "{} {}",
                n["kind"].as_str().unwrap(),
                n["fieldName"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn each_drift_policy_does_what_it_says_and_breaking_changes_are_flagged() {
    let app = app_with(0, |_| {}).await;
    let t = app.sign_up().await;

    // IGNORE: recorded, flagged, nothing else changes.
    let ignore = drifted(&app, &t, "drift-ignore", "IGNORE", 3600).await;
    let before = mappings(&app, &t.token, "drift-ignore").await;
    assert_eq!(status_of(&before, "Industry"), Some("ACTIVE"), "{before:?}");
    let found = check(&app, &t.token, &ignore).await;
    assert_eq!(
        found,
        json!({ "entities": 1, "changes": 4, "breaking": 3, "proposed": 0, "held": false })
    );
    assert_eq!(
        mappings(&app, &t.token, "drift-ignore").await,
        before,
        "IGNORE changes no mapping"
    );
    assert_eq!(
        breaking_fields(&app, &t.token, &ignore).await,
        [
            "FIELD_REMOVED Industry",
            "FIELD_RENAMED Web Site",
            "TYPE_CHANGED Employees"
        ]
    );
    assert_eq!(
        check(&app, &t.token, &ignore).await["changes"],
        0,
        "recorded once"
    );

    // PROPAGATE: the new field proposed, the removed one's mapping deprecated, the renamed
    // one's carried over (so not breaking).
    let propagate = drifted(&app, &t, "drift-propagate", "PROPAGATE", 3600).await;
    let found = check(&app, &t.token, &propagate).await;
    assert_eq!(
        found,
        json!({ "entities": 1, "changes": 4, "breaking": 2, "proposed": 1, "held": false })
    );
    let after = mappings(&app, &t.token, "drift-propagate").await;
    assert_eq!(
        status_of(&after, "Industry"),
        Some("DEPRECATED"),
        "{after:?}"
    );
    assert_eq!(status_of(&after, "Web Site"), Some("ACTIVE"), "{after:?}");
    assert_eq!(
        breaking_fields(&app, &t.token, &propagate).await,
        ["FIELD_REMOVED Industry", "TYPE_CHANGED Employees"]
    );

    // PAUSE: recorded and held; a scheduled slot starts nothing until acknowledged.
    let pause = drifted(&app, &t, "drift-pause", "PAUSE", 3600).await;
    app.ok(
        SET,
        json!({ "c": pause, "s": { "intervalSeconds": 3600 } }),
        Some(&t.token),
    )
    .await;
    let found = check(&app, &t.token, &pause).await;
    assert_eq!(
        (found["changes"].clone(), found["held"].clone()),
        (json!(4), json!(true))
    );
    let held = observer(&app, &t.token, &pause).await;
    assert!(held["heldSince"].is_string(), "{held:#}");
    assert!(
        held["heldReason"].as_str().unwrap().contains("3 breaking"),
        "{held:#}"
    );
    assert_eq!(
        status_of(&mappings(&app, &t.token, "drift-pause").await, "Industry"),
        Some("ACTIVE")
    );
    miss_slots(&app, &pause, 1).await;
    until_outcome(&app, &t.token, &pause, "SKIPPED").await;
    let skipped = schedule_of(&app, &t.token, &pause).await;
    assert!(
        skipped["lastMessage"].as_str().unwrap().contains("PAUSE"),
        "{skipped:#}"
    );
    assert_eq!(
        runs(&app, &t.token, &pause).await.len(),
        1,
        "only the first, manual sync"
    );
    // A person may still sync by hand meanwhile; the hold stays.
    assert_eq!(app.sync(&t.token, &pause).await["status"], "SUCCEEDED");
    let acknowledged = app
        .ok(
            "mutation($c: ID!) { acknowledgeDrift(connectorId: $c) { heldSince } }",
            json!({ "c": pause }),
            Some(&t.token),
        )
        .await;
    assert_eq!(acknowledged["acknowledgeDrift"]["heldSince"], Value::Null);
    let again = app
        .gql(
            "mutation($c: ID!) { acknowledgeDrift(connectorId: $c) { heldSince } }",
            json!({ "c": pause }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again:#}");
    miss_slots(&app, &pause, 1).await;
    until_outcome(&app, &t.token, &pause, "STARTED").await;

    // Cadence below the operator's floor is refused, naming the argument.
    let body = app
        .gql(
            "mutation($c: ID!) { setDriftPolicy(connectorId: $c, policy: IGNORE, checkIntervalSeconds: 0) { driftPolicy } }",
            json!({ "c": ignore }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("checkIntervalSeconds"));
}

/// Ticks (this test's app does not tick by itself) until the schedule's last slot did `outcome`.
async fn until_outcome(app: &TestApp, token: &str, connector: &str, outcome: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        dispatch::tick(&app.services.pipeline).await.unwrap();
        let schedule = schedule_of(app, token, connector).await;
        if schedule["lastOutcome"] == outcome {
            return;
        }
        assert!(Instant::now() < deadline, "never {outcome}: {schedule:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_observer_records_drift_on_its_own_cadence_without_a_sync() {
    let app = app_with(100, |_| {}).await;
    let t = app.sign_up().await;
    let connector = drifted(&app, &t, "observed", "IGNORE", 1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let seen = observer(&app, &t.token, &connector).await;
        let drift = app
            .ok(
                "query($c: ID!) { driftEvents(connectorId: $c) { totalCount } }",
                json!({ "c": connector }),
                Some(&t.token),
            )
            .await;
        if drift["driftEvents"]["totalCount"] == 4 && seen["lastCheckedAt"].is_string() {
            break seen;
        }
        assert!(
            Instant::now() < deadline,
            "no drift recorded: {seen:#} {drift:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(seen["lastError"], Value::Null, "{seen:#}");
    assert_eq!(seen["checkIntervalSeconds"], 1);
    assert_eq!(
        runs(&app, &t.token, &connector).await.len(),
        1,
        "no sync ran"
    );

    // A source that cannot be introspected is said so on the observer, and nothing is lost.
    std::fs::remove_file(app.files_of(&t).join("observed/accounts.csv")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = observer(&app, &t.token, &connector).await;
        if seen["lastError"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "no error recorded: {seen:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

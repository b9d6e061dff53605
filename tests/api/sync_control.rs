//! Control of sync runs: one at a time per connector, and cancelling one mid-run.
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fake_api::{FakeApi, Response};
use crate::helpers::{error_code, spawn_app_with, TestApp, TestTenant, SYNC_RUN};
use crate::rest_sources::shipped;

pub const CUSTOMERS: usize = 60;

/// A Stripe-like API of 60 customers, two a page, each page after the first 150 ms slow.
pub async fn slow_api() -> FakeApi {
    FakeApi::start(|r| {
        if r.path != "/v1/customers" {
            return Response::json(json!({ "object": "list", "data": [], "has_more": false }));
        }
        let customer = |n: usize| json!({ "id": format!("cus_{n}"), "object": "customer",
            "name": format!("Customer {n}"), "email": format!("c{n}@example.com"), "created": 1700000000 });
        let from = r
            .query
            .get("starting_after")
            .and_then(|s| s.strip_prefix("cus_")?.parse::<usize>().ok())
            .unwrap_or(0);
        let page: Vec<Value> = (from + 1..=(from + 2).min(CUSTOMERS)).map(customer).collect();
        let body = json!({ "object": "list", "data": page, "has_more": from + 2 < CUSTOMERS });
        Response {
            delay: Duration::from_millis(if from == 0 { 0 } else { 150 }),
            ..Response::json(body)
        }
    })
    .await
}

const SYNC: &str = "mutation($id: ID!) { syncConnector(id: $id) { id status } }";
const CANCEL: &str = "mutation($id: ID!) { cancelSyncRun(id: $id) { id status } }";

/// An app syncing two records a batch, a tenant, and its connector to the slow API.
struct Slow {
    _api: FakeApi,
    app: TestApp,
    t: TestTenant,
    connector: String,
}

impl Slow {
    async fn start() -> Self {
        let api = slow_api().await;
        let app = spawn_app_with(|s| s.sync.batch_size = 2).await;
        let t = app.sign_up().await;
        let connector = app
            .create_connector(&t.token, "stripe", "REST", shipped("stripe", &api.url))
            .await;
        Self {
            _api: api,
            app,
            t,
            connector,
        }
    }
}

pub async fn run_of(app: &TestApp, token: &str, id: &str) -> Value {
    app.ok(
        &format!("query($id: ID!) {{ syncRun(id: $id) {{ {SYNC_RUN} }} }}"),
        json!({ "id": id }),
        Some(token),
    )
    .await["syncRun"]
        .clone()
}

/// Polls the run until `done` says so (at most 30 s).
pub async fn wait_for(
    app: &TestApp,
    token: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let run = run_of(app, token, id).await;
        if done(&run) {
            return run;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited for {run:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn events(app: &TestApp, token: &str, connector: &str) -> u64 {
    app.ok(
        "query($c: ID) { canonicalEvents(filter: { connectorId: $c }, first: 1) { totalCount } }",
        json!({ "c": connector }),
        Some(token),
    )
    .await["canonicalEvents"]["totalCount"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn one_run_per_connector_and_a_cancelled_run_keeps_what_it_committed() {
    let Slow {
        _api,
        app,
        t,
        connector,
    } = Slow::start().await;

    let first = app
        .ok(SYNC, json!({ "id": connector }), Some(&t.token))
        .await;
    let run = first["syncConnector"]["id"].as_str().unwrap().to_owned();
    // A second run of the connector is refused while the first is queued or running.
    let second = app
        .gql(SYNC, json!({ "id": connector }), Some(&t.token))
        .await;
    assert_eq!(error_code(&second), "CONFLICT", "{second:#}");
    let message = second["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(&run), "names the running one: {message}");

    // Cancelled after a few batches: it stops at its next checkpoint, keeping what it wrote.
    wait_for(&app, &t.token, &run, |r| {
        r["counts"]["eventsWritten"].as_u64() >= Some(4)
    })
    .await;
    let asked = app.ok(CANCEL, json!({ "id": run }), Some(&t.token)).await;
    assert_eq!(asked["cancelSyncRun"]["id"], run.as_str());
    let cancelled = wait_for(&app, &t.token, &run, |r| r["status"] != "RUNNING").await;
    assert_eq!(cancelled["status"], "CANCELLED", "{cancelled:#}");
    let written = cancelled["counts"]["eventsWritten"].as_u64().unwrap();
    assert!(
        (4..CUSTOMERS as u64).contains(&written),
        "stopped early: {cancelled:#}"
    );
    assert_eq!(
        events(&app, &t.token, &connector).await,
        written,
        "committed batches kept"
    );
    // It stays stopped: nothing more is written, and cancelling again is refused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(events(&app, &t.token, &connector).await, written);
    let again = app.gql(CANCEL, json!({ "id": run }), Some(&t.token)).await;
    assert_eq!(error_code(&again), "CONFLICT", "{again:#}");

    // The connector can sync again, and the next run writes only what is missing.
    let next = app.sync(&t.token, &connector).await;
    assert_eq!(next["status"], "SUCCEEDED", "{next:#}");
    assert_eq!(
        next["counts"]["eventsWritten"].as_u64().unwrap() + written,
        CUSTOMERS as u64,
        "{next:#}"
    );
    assert_eq!(events(&app, &t.token, &connector).await, CUSTOMERS as u64);
}

#[tokio::test]
async fn only_the_runs_own_tenant_cancels_it() {
    let Slow {
        _api,
        app,
        t,
        connector,
    } = Slow::start().await;
    let other = app.sign_up().await;
    let run = app
        .ok(SYNC, json!({ "id": connector }), Some(&t.token))
        .await["syncConnector"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = app
        .gql(CANCEL, json!({ "id": run }), Some(&other.token))
        .await;
    assert_eq!(error_code(&theirs), "NOT_FOUND", "{theirs:#}");
    app.ok(CANCEL, json!({ "id": run }), Some(&t.token)).await;
    let done = wait_for(&app, &t.token, &run, |r| {
        r["status"] != "RUNNING" && r["status"] != "QUEUED"
    })
    .await;
    assert_eq!(done["status"], "CANCELLED", "{done:#}");
}

#[tokio::test]
async fn racing_requests_start_one_run() {
    let Slow {
        _api,
        app,
        t,
        connector,
    } = Slow::start().await;
    let tries = (0..6).map(|_| app.gql(SYNC, json!({ "id": connector }), Some(&t.token)));
    let answers = futures_util::future::join_all(tries).await;
    let started: Vec<&Value> = answers.iter().filter(|a| a["errors"].is_null()).collect();
    assert_eq!(started.len(), 1, "{answers:#?}");
    let run = started[0]["data"]["syncConnector"]["id"].as_str().unwrap();
    for refused in answers.iter().filter(|a| !a["errors"].is_null()) {
        assert_eq!(error_code(refused), "CONFLICT", "{refused:#}");
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(run), "names the one started: {message}");
    }
    let runs = app
        .ok(
            "query($c: ID) { syncRuns(connectorId: $c) { totalCount } }",
            json!({ "c": connector }),
            Some(&t.token),
        )
        .await;
    assert_eq!(runs["syncRuns"]["totalCount"], 1, "{runs:#}");
    app.ok(CANCEL, json!({ "id": run }), Some(&t.token)).await;
}

#[tokio::test]
async fn a_runs_entities_are_read_in_parallel_up_to_the_limit_each_record_once() {
    const PER_ENTITY: usize = 6;
    // Three endpoints, two records a page, every page 200 ms slow.
    let api = FakeApi::start(|r| {
        let name = r.path.trim_start_matches("/v1/").to_owned();
        let from = r
            .query
            .get("starting_after")
            .and_then(|s| s.rsplit_once('_')?.1.parse::<usize>().ok())
            .unwrap_or(0);
        let page: Vec<Value> = (from + 1..=(from + 2).min(PER_ENTITY))
            .map(|n| {
                json!({ "id": format!("{name}_{n}"), "name": format!("{name} {n}"),
                             "email": format!("{name}{n}@example.com") })
            })
            .collect();
        Response {
            delay: Duration::from_millis(200),
            ..Response::json(json!({ "data": page, "has_more": from + 2 < PER_ENTITY }))
        }
    })
    .await;
    let app = spawn_app_with(|s| {
        s.sync.batch_size = 2;
        s.sync.entities_in_parallel = 2;
    })
    .await;
    let t = app.sign_up().await;
    let entity = |name: &str| {
        json!({ "name": name, "endpoint": format!("/v1/{name}"), "recordsPath": "data", "idField": "id",
                "pagination": { "type": "cursor", "cursorParam": "starting_after", "cursorPath": "$last.id",
                                "limitParam": "limit", "limit": 2, "hasMorePath": "has_more" } })
    };
    let config = json!({ "baseUrl": api.url, "entities": [entity("customers"), entity("contacts"), entity("people")],
                         "retry": { "maxAttempts": 2, "baseDelayMs": 10, "maxDelayMs": 50 } });
    let connector = app
        .create_connector(&t.token, "three", "REST", config)
        .await;
    let run = app.sync(&t.token, &connector).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["counts"]["entities"], 3);
    assert_eq!(run["counts"]["recordsRead"], 3 * PER_ENTITY, "{run:#}");
    let written = run["counts"]["eventsWritten"].as_u64().unwrap();
    assert!(written > 0, "{run:#}");
    assert_eq!(events(&app, &t.token, &connector).await, written);
    // Two entities' requests overlapped, and never three.
    assert_eq!(api.most_at_once(), 2, "{:?}", api.hits());
    // Each entity's batches were stored once: a second run finds every event written.
    let again = app.sync(&t.token, &connector).await;
    assert_eq!(again["counts"]["eventsUnchanged"], written, "{again:#}");
    assert_eq!(again["counts"]["eventsWritten"], 0, "{again:#}");
}

//! Bulk proposals as a job: progress to a subscriber, every field's result stored once and in
//! order, cancel, validation, another tenant's job out of reach, and a job resumed by another
//! process after its worker is killed or it is taken over.
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, TestApp};
use crate::telemetry::{Got, Ws};
use crate::workers::{app_with, WorkerProcess};

const JOB: &str = "id status sourceSystem sourceEntity attempts errors { code message }
    counts { fields done autoApplied needsReview unmapped }";

const KNOWN: &[&str] = &[
    "Email",
    "Phone",
    "First Name",
    "Last Name",
    "Company",
    "Website",
    "Annual Revenue",
    "Industry",
    "Billing City",
    "Country",
];

/// `n` fields: names a CRM has, then names no model knows.
fn fields(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| match KNOWN.get(i) {
            Some(name) => json!({ "name": name, "samples": [] }),
            None => json!({ "name": format!("qx flux {i}"), "samples": [format!("v{i}")] }),
        })
        .collect()
}

async fn start(app: &TestApp, token: &str, system: &str, n: usize) -> Value {
    app.ok(
        &format!(
            "mutation($i: ProposeMappingsInput!) {{ startProposalJob(input: $i) {{ {JOB} }} }}"
        ),
        json!({ "i": { "sourceSystem": system, "sourceEntity": "contacts", "fields": fields(n) } }),
        Some(token),
    )
    .await["startProposalJob"]
        .clone()
}

pub async fn job(app: &TestApp, token: &str, id: &str) -> Value {
    app.ok(
        &format!("query($id: ID!) {{ proposalJob(id: $id) {{ {JOB} }} }}"),
        json!({ "id": id }),
        Some(token),
    )
    .await["proposalJob"]
        .clone()
}

async fn wait_for(app: &TestApp, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..1200 {
        let j = job(app, token, id).await;
        if done(&j) {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the proposal job never got there: {:#}",
        job(app, token, id).await
    );
}

/// Starts a job of `n` fields and waits until it has stored at least `done`; its id.
async fn started_and_at(app: &TestApp, token: &str, system: &str, n: usize, done: u64) -> String {
    let id = start(app, token, system, n).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(app, token, &id, |j| {
        j["counts"]["done"].as_u64().unwrap_or(0) >= done
    })
    .await;
    id
}

/// Waits for the job to end; its last state.
pub async fn job_finished(app: &TestApp, token: &str, id: &str) -> Value {
    wait_for(app, token, id, finished).await
}

fn finished(j: &Value) -> bool {
    !matches!(j["status"].as_str(), Some("QUEUED" | "RUNNING"))
}

/// Every stored result, page by page: (source field, status).
async fn results(app: &TestApp, token: &str, id: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .ok(
                "query($id: ID!, $a: String) { proposalJob(id: $id) { proposals(first: 25, after: $a) {
                    totalCount pageInfo { hasNextPage endCursor } edges { node { sourceField status canonicalField } } } } }",
                json!({ "id": id, "a": after }),
                Some(token),
            )
            .await;
        let conn = &page["proposalJob"]["proposals"];
        for e in conn["edges"].as_array().unwrap() {
            out.push((
                e["node"]["sourceField"].as_str().unwrap().to_owned(),
                e["node"]["status"].as_str().unwrap().to_owned(),
            ));
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            assert_eq!(conn["totalCount"].as_u64().unwrap() as usize, out.len());
            return out;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

/// The stored results are the job's fields, each once, in the order given, and agree with
/// the counts.
async fn assert_each_field_once(app: &TestApp, token: &str, j: &Value, n: usize) {
    let stored = results(app, token, j["id"].as_str().unwrap()).await;
    let names: Vec<String> = fields(n)
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    let got: Vec<String> = stored.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(got, names[..got.len()], "each field once, in order");
    let count = |s: &str| stored.iter().filter(|(_, st)| st == s).count() as u64;
    let c = &j["counts"];
    assert_eq!(c["done"].as_u64().unwrap() as usize, stored.len(), "{j:#}");
    assert_eq!(c["autoApplied"].as_u64().unwrap(), count("AUTO_APPLIED"));
    assert_eq!(c["needsReview"].as_u64().unwrap(), count("NEEDS_REVIEW"));
    assert_eq!(c["unmapped"].as_u64().unwrap(), count("UNMAPPED"));
}

async fn proposals_used(app: &TestApp, token: &str) -> u64 {
    app.ok(
        "{ usage { proposalsThisMonth { used } } }",
        json!({}),
        Some(token),
    )
    .await["usage"]["proposalsThisMonth"]["used"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_bulk_job_reports_progress_and_stores_every_fields_result_once_in_order() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    const N: usize = 120;
    let started = start(&app, &t.token, "bulk-crm", N).await;
    assert_eq!(started["counts"]["fields"], N);
    let id = started["id"].as_str().unwrap().to_owned();
    let mut ws = Ws::connect(&app.address, &t.token).await;
    ws.subscribe(
        "job",
        &format!("subscription($id: ID!) {{ proposalJobUpdated(id: $id) {{ {JOB} }} }}"),
        json!({ "id": id }),
    )
    .await;
    let mut seen: Vec<Value> = Vec::new();
    loop {
        match ws.next(Duration::from_secs(60)).await {
            Some(Got::Next(_, v)) => seen.push(v["data"]["proposalJobUpdated"].clone()),
            Some(Got::Complete(_)) => break,
            other => panic!("{seen:#?} then {other:?}"),
        }
    }
    let last = seen.last().unwrap().clone();
    assert_eq!(last["status"], "SUCCEEDED", "{last:#}");
    assert_eq!(last["counts"]["done"], N);
    let progress: Vec<u64> = seen
        .iter()
        .filter(|j| j["status"] == "RUNNING")
        .map(|j| j["counts"]["done"].as_u64().unwrap())
        .collect();
    assert!(
        progress.iter().any(|d| *d > 0 && *d < N as u64),
        "progress between chunks: {progress:?}"
    );
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_each_field_once(&app, &t.token, &last, N).await;
    assert!(
        last["counts"]["autoApplied"].as_u64().unwrap() >= 5,
        "{last:#}"
    );
    assert!(
        last["counts"]["unmapped"].as_u64().unwrap()
            + last["counts"]["needsReview"].as_u64().unwrap()
            >= 100
    );
    assert_eq!(
        proposals_used(&app, &t.token).await,
        N as u64,
        "charged once per field"
    );
    // What it applied is in the registry like any proposal's.
    let mapped = app
        .ok(
            "{ mappings(first: 100) { edges { node { sourceSystem sourceField } } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    assert!(mapped["mappings"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"]["sourceSystem"] == "bulk-crm" && e["node"]["sourceField"] == "Email"));

    // Another tenant cannot read, follow or cancel it.
    let b = app.sign_up().await;
    let body = app
        .gql(
            "query($id: ID!) { proposalJob(id: $id) { id } }",
            json!({ "id": id }),
            Some(&b.token),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    let body = app
        .gql(
            "mutation($id: ID!) { cancelProposalJob(id: $id) { id } }",
            json!({ "id": id }),
            Some(&b.token),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    let mut theirs = Ws::connect(&app.address, &b.token).await;
    theirs
        .subscribe(
            "x",
            "subscription($id: ID!) { proposalJobUpdated(id: $id) { id counts { done } } }",
            json!({ "id": id }),
        )
        .await;
    match theirs.next(Duration::from_secs(10)).await {
        Some(Got::Next(_, v)) => {
            assert!(v["data"].is_null(), "B followed A's job: {v:#}");
            assert_eq!(v["errors"][0]["extensions"]["code"], "NOT_FOUND", "{v:#}")
        }
        other => panic!("B followed A's job: {other:?}"),
    }
    // A finished job cannot be cancelled.
    let body = app
        .gql(
            "mutation($id: ID!) { cancelProposalJob(id: $id) { id } }",
            json!({ "id": id }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
}

#[tokio::test]
async fn a_cancelled_job_keeps_what_it_proposed_and_bad_input_queues_nothing() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    const N: usize = 400;
    let id = started_and_at(&app, &t.token, "cancel-crm", N, 8).await;
    let asked = app
        .ok(
            &format!("mutation($id: ID!) {{ cancelProposalJob(id: $id) {{ {JOB} }} }}"),
            json!({ "id": id }),
            Some(&t.token),
        )
        .await;
    assert!(!finished(&asked["cancelProposalJob"]), "{asked:#}");
    let done = wait_for(&app, &t.token, &id, finished).await;
    assert_eq!(done["status"], "CANCELLED", "{done:#}");
    let kept = done["counts"]["done"].as_u64().unwrap();
    assert!(kept >= 8 && kept < N as u64, "{done:#}");
    assert_each_field_once(&app, &t.token, &done, N).await;
    assert_eq!(
        proposals_used(&app, &t.token).await,
        kept,
        "only what was proposed is charged"
    );

    // Bad input is refused naming the field, and queues nothing.
    let mut bad = fields(6);
    bad[3]["name"] = json!("  ");
    let body = app
        .gql(
            "mutation($i: ProposeMappingsInput!) { startProposalJob(input: $i) { id } }",
            json!({ "i": { "sourceSystem": "x", "sourceEntity": "y", "fields": bad } }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(
        body["errors"][0]["extensions"]["problems"][0]["field"], "fields[3].name",
        "{body:#}"
    );
    let body = app
        .gql(
            "mutation($i: ProposeMappingsInput!) { startProposalJob(input: $i) { id } }",
            json!({ "i": { "sourceSystem": "x", "sourceEntity": "y", "fields": [] } }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    // A viewer may follow jobs, not start them.
    let viewer = app.member(&t, "VIEWER").await;
    let body = app
        .gql(
            "mutation($i: ProposeMappingsInput!) { startProposalJob(input: $i) { id } }",
            json!({ "i": { "sourceSystem": "x", "sourceEntity": "y", "fields": fields(2) } }),
            Some(&viewer),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body:#}");
    assert_eq!(proposals_used(&app, &t.token).await, kept);
}

#[tokio::test]
async fn a_killed_workers_proposal_job_is_resumed_by_another_with_every_field_once() {
    // The API process does not work: the job waits for a worker.
    let app = app_with(0, |s| s.workers.embedded = false).await;
    let resume = [("AUTONOMOS__SYNC__RESUME_STALE_AFTER_SECS", "3")];
    let t = app.sign_up().await;
    const N: usize = 400;
    let id = start(&app, &t.token, "killed-crm", N).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(job(&app, &t.token, &id).await["status"], "QUEUED");
    let first = WorkerProcess::start(&app, &resume).await;
    wait_for(&app, &t.token, &id, |j| {
        j["counts"]["done"].as_u64().unwrap_or(0) >= 12
    })
    .await;
    first.kill().await;
    let at_kill = job(&app, &t.token, &id).await;
    assert_eq!(at_kill["status"], "RUNNING", "{at_kill:#}");
    let _second = WorkerProcess::start(&app, &resume).await;
    let done = wait_for(&app, &t.token, &id, finished).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done:#}");
    assert_eq!(done["attempts"], 2, "{done:#}");
    assert_eq!(done["counts"]["done"], N, "{done:#}");
    assert_each_field_once(&app, &t.token, &done, N).await;
    assert_eq!(
        proposals_used(&app, &t.token).await,
        N as u64,
        "no chunk charged twice"
    );
}

#[tokio::test]
async fn a_process_whose_proposal_job_was_taken_over_stores_nothing_more() {
    let app = app_with(0, |_| {}).await;
    let t = app.sign_up().await;
    const N: usize = 400;
    let id = started_and_at(&app, &t.token, "fenced-crm", N, 8).await;
    let owner = Database::connect(app.settings.database.migration_url.expose_secret())
        .await
        .unwrap();
    let job_id = id.parse::<uuid::Uuid>().unwrap();
    owner
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            // A live successor: it beats, so no other test's worker adopts the job meanwhile.
            "UPDATE jobs SET claimed_by = 'another-process', heartbeat_at = now() + interval '1 hour'
             WHERE id = $1",
            [job_id.into()],
        ))
        .await
        .unwrap();
    // The chunk in flight is rolled back; nothing more is stored by this process.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fenced = job(&app, &t.token, &id).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = job(&app, &t.token, &id).await;
    assert_eq!(
        later["counts"]["done"], fenced["counts"]["done"],
        "a taken-over job kept storing"
    );
    assert_eq!(later["status"], "RUNNING", "{later:#}");
    assert_each_field_once(&app, &t.token, &later, N).await;

    // The successor goes away too: the job is adopted and finishes with every field once.
    owner
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE jobs SET heartbeat_at = now() - interval '10 minutes' WHERE id = $1",
            [job_id.into()],
        ))
        .await
        .unwrap();
    autonomos::domains::pipeline::service::resume_stale(&app.services.pipeline, true)
        .await
        .unwrap();
    // Adopted here, or by a worker of another test on this database first.
    let done = job_finished(&app, &t.token, &id).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done:#}");
    assert_each_field_once(&app, &t.token, &done, N).await;
    assert_eq!(done["counts"]["done"], N);
}

//! Work that runs by itself: schedules that fire once across processes, slots missed while
//! nothing ran, and `autonomos worker` processes that run and resume sync runs. These tests keep
//! to a database of their own (`autonomos_test_workers`): their workers adopt any run no live
//! process holds, and other tests leave such runs on purpose.
use std::time::{Duration, Instant};

use autonomos::config::Settings;
use autonomos::domains::pipeline::dispatch;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{error_code, project_root, spawn_app_with, TestApp, TestTenant};

const DATABASE: &str = "autonomos_test_workers";

fn in_workers_database(url: &SecretString) -> SecretString {
    let url = url.expose_secret();
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(url);
    SecretString::from(format!("{base}/{DATABASE}"))
}

/// The test settings pointed at the workers' database, then `change`d.
fn isolated(s: &mut Settings) {
    s.database.url = in_workers_database(&s.database.url);
    s.database.migration_url = in_workers_database(&s.database.migration_url);
}

/// An `autonomos worker` process of the test's own on the workers' database.
pub struct WorkerProcess {
    child: tokio::process::Child,
}

impl WorkerProcess {
    pub async fn start(app: &TestApp, env: &[(&str, &str)]) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_autonomos"));
        command
            .arg("worker")
            .current_dir(project_root())
            .env("AUTONOMOS_ENV", "test")
            .env(
                "AUTONOMOS__DATABASE__URL",
                app.settings.database.url.expose_secret(),
            )
            .env(
                "AUTONOMOS__DATABASE__MIGRATION_URL",
                app.settings.database.migration_url.expose_secret(),
            )
            .env("AUTONOMOS__WORKERS__TICK_MILLIS", "200")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the worker starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("worker running") {
                    return;
                }
            }
            panic!("the worker exited before running");
        })
        .await
        .expect("the worker did not start");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child }
    }

    /// Gone at once, mid-work, as a machine that loses power.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// The app on the workers' database, working or not.
pub async fn app_with(tick_millis: u64, change: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(|s| {
        isolated(s);
        s.workers.tick_millis = tick_millis;
        change(s);
    })
    .await
}

/// A CSV connector over `rows` contacts in the tenant's file area.
async fn csv_connector(app: &TestApp, t: &TestTenant, rows: usize) -> String {
    let dir = app.files_of(t).join("scheduled");
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("id,email,first_name\n");
    for n in 0..rows {
        csv.push_str(&format!("{n},p{n}@example.com,Person {n}\n"));
    }
    std::fs::write(dir.join("contacts.csv"), csv).unwrap();
    app.create_connector(
        &t.token,
        "scheduled",
        "CSV",
        json!({ "path": "scheduled/contacts.csv", "idColumn": "id" }),
    )
    .await
}

pub const SET: &str = "mutation($c: ID!, $s: SyncScheduleInput!) { setSyncSchedule(connectorId: $c, schedule: $s) {
    intervalSeconds cron timezone description enabled nextRunAt lastSlotAt lastRunId lastOutcome lastMessage } }";

pub async fn runs(app: &TestApp, token: &str, connector: &str) -> Vec<Value> {
    app.ok(
        "query($c: ID!) { syncRuns(connectorId: $c, first: 100) { edges { node { id status scheduledFor createdAt } } } }",
        json!({ "c": connector }),
        Some(token),
    )
    .await["syncRuns"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

pub async fn schedule_of(app: &TestApp, token: &str, connector: &str) -> Value {
    app.ok(
        "query($c: ID!) { connector(id: $c) { schedule { intervalSeconds nextRunAt lastSlotAt lastRunId lastOutcome lastMessage } } }",
        json!({ "c": connector }),
        Some(token),
    )
    .await["connector"]["schedule"]
        .clone()
}

pub fn time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Moves the schedule's next slot into the past, as if no process had run for a while;
/// returns that slot. (Other tests' workers on this database may take it from here on.)
pub async fn miss_slots(
    app: &TestApp,
    connector: &str,
    by_secs: u32,
) -> chrono::DateTime<chrono::Utc> {
    let owner = Database::connect(app.settings.database.migration_url.expose_secret())
        .await
        .unwrap();
    let row = owner
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE sync_schedules SET next_run_at = date_trunc('milliseconds', now() - make_interval(secs => $2))
             WHERE connector_id = $1 RETURNING next_run_at",
            [
                connector.parse::<uuid::Uuid>().unwrap().into(),
                (by_secs as f64).into(),
            ],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "next_run_at").unwrap()
}

#[tokio::test]
async fn a_schedule_fires_on_time_and_exactly_once_with_two_processes_working() {
    let app = app_with(100, |_| {}).await;
    let _worker = WorkerProcess::start(&app, &[("AUTONOMOS__WORKERS__TICK_MILLIS", "100")]).await;
    let t = app.sign_up().await;
    let connector = csv_connector(&app, &t, 5).await;
    let set = app
        .ok(
            SET,
            json!({ "c": connector, "s": { "intervalSeconds": 2 } }),
            Some(&t.token),
        )
        .await["setSyncSchedule"]
        .clone();
    assert_eq!(set["description"], "every 2 seconds", "{set:#}");
    let first_slot = time(&set["nextRunAt"]);
    tokio::time::sleep(Duration::from_millis(9_500)).await;
    let schedule = schedule_of(&app, &t.token, &connector).await;
    let runs = runs(&app, &t.token, &connector).await;

    // Every slot from the first to the last taken was taken once: a run each, or a skip
    // recorded because the one before was still going.
    let mut slots: Vec<_> = runs.iter().map(|r| time(&r["scheduledFor"])).collect();
    slots.sort();
    let distinct: std::collections::BTreeSet<_> = slots.iter().collect();
    assert_eq!(distinct.len(), slots.len(), "a slot ran twice: {runs:#?}");
    assert!(slots.len() >= 3, "{runs:#?} {schedule:#}");
    assert_eq!(slots[0], first_slot);
    for pair in slots.windows(2) {
        let gap = (pair[1] - pair[0]).num_milliseconds();
        assert!(gap % 2000 == 0 && gap > 0, "slots off the grid: {slots:?}");
    }
    // On time: queued within a second and a half of its slot, on a machine under test load.
    for run in &runs {
        let late = time(&run["createdAt"]) - time(&run["scheduledFor"]);
        assert!(late.num_milliseconds() < 1500, "late by {late}: {run:#}");
    }
    assert_eq!(time(&schedule["lastSlotAt"]), *slots.last().unwrap());
    assert!(time(&schedule["nextRunAt"]) > *slots.last().unwrap());
    assert_eq!(schedule["lastOutcome"], "STARTED", "{schedule:#}");
}

#[tokio::test]
async fn slots_missed_while_nothing_ran_start_one_run_and_a_paused_connector_skips_its_slot() {
    // Nothing ticks by itself here: the test plays the process that starts after an outage.
    let app = app_with(0, |_| {}).await;
    let t = app.sign_up().await;
    let connector = csv_connector(&app, &t, 3).await;
    app.ok(
        SET,
        json!({ "c": connector, "s": { "intervalSeconds": 60 } }),
        Some(&t.token),
    )
    .await;
    // Ten minutes and a bit without any process: ten slots missed.
    let missed = miss_slots(&app, &connector, 10 * 60 + 5).await;
    for _ in 0..3 {
        dispatch::tick(&app.services.pipeline).await.unwrap();
    }
    // (Another test's worker on this database may have taken the slot a moment before.)
    let deadline = Instant::now() + Duration::from_secs(5);
    while runs_len(&app, &t.token, &connector).await == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    dispatch::tick(&app.services.pipeline).await.unwrap();
    let runs = runs(&app, &t.token, &connector).await;
    assert_eq!(runs.len(), 1, "one run for the missed slots: {runs:#?}");
    assert_eq!(time(&runs[0]["scheduledFor"]), missed);
    let schedule = schedule_of(&app, &t.token, &connector).await;
    let next = time(&schedule["nextRunAt"]);
    assert!(next > chrono::Utc::now(), "{schedule:#}");
    assert_eq!((next - missed).num_seconds() % 60, 0, "kept to its grid");
    assert!((next - chrono::Utc::now()).num_seconds() <= 60);
    assert_eq!(schedule["lastRunId"], runs[0]["id"]);

    // Paused: the slot is taken and recorded, and nothing runs.
    let finished =
        crate::sync_control::wait_for(&app, &t.token, runs[0]["id"].as_str().unwrap(), |r| {
            r["status"] != "QUEUED" && r["status"] != "RUNNING"
        })
        .await;
    assert_eq!(finished["status"], "SUCCEEDED", "{finished:#}");
    app.ok(
        "mutation($id: ID!) { updateConnector(id: $id, input: { status: PAUSED }) { status } }",
        json!({ "id": connector }),
        Some(&t.token),
    )
    .await;
    miss_slots(&app, &connector, 1).await;
    dispatch::tick(&app.services.pipeline).await.unwrap();
    let schedule = schedule_of(&app, &t.token, &connector).await;
    assert_eq!(schedule["lastOutcome"], "SKIPPED", "{schedule:#}");
    assert!(
        schedule["lastMessage"].as_str().unwrap().contains("paused"),
        "{schedule:#}"
    );
    assert_eq!(runs_len(&app, &t.token, &connector).await, 1);
}

async fn runs_len(app: &TestApp, token: &str, connector: &str) -> usize {
    runs(app, token, connector).await.len()
}

#[tokio::test]
async fn schedules_are_validated_and_can_be_changed_disabled_and_removed() {
    let app = app_with(0, |_| {}).await;
    let t = app.sign_up().await;
    let connector = csv_connector(&app, &t, 1).await;
    let bad = [
        (json!({}), "schedule.intervalSeconds"),
        (json!({ "intervalSeconds": 0 }), "schedule.intervalSeconds"),
        (json!({ "cron": "*/5 * * *" }), "schedule.cron"),
        (
            json!({ "cron": "0 9 * * MON", "timezone": "Europe/Atlantis" }),
            "schedule.timezone",
        ),
        (
            json!({ "cron": "0 9 * * MON", "intervalSeconds": 60 }),
            "schedule.intervalSeconds",
        ),
        // NUL bytes are refused for any input, naming the variable.
        (json!({ "cron": "0\u{0} 9 * * *" }), "$s.cron"),
    ];
    for (input, field) in bad {
        let body = app
            .gql(SET, json!({ "c": connector, "s": input }), Some(&t.token))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}: {body:#}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{input}: {body:#}"
        );
    }
    let cron = app
        .ok(
            SET,
            json!({ "c": connector, "s": { "cron": "30 9 * * MON-FRI", "timezone": "America/New_York" } }),
            Some(&t.token),
        )
        .await["setSyncSchedule"]
        .clone();
    let next = time(&cron["nextRunAt"]).with_timezone(&chrono_tz::America::New_York);
    assert_eq!(next.format("%H:%M").to_string(), "09:30", "{cron:#}");
    assert!(cron["description"]
        .as_str()
        .unwrap()
        .contains("America/New_York"));
    let off = app
        .ok(
            SET,
            json!({ "c": connector, "s": { "intervalSeconds": 60, "enabled": false } }),
            Some(&t.token),
        )
        .await["setSyncSchedule"]
        .clone();
    assert_eq!(
        (off["enabled"].clone(), off["nextRunAt"].clone()),
        (json!(false), Value::Null)
    );
    let removed = "mutation($c: ID!) { removeSyncSchedule(connectorId: $c) }";
    let gone = app
        .ok(removed, json!({ "c": connector }), Some(&t.token))
        .await;
    assert_eq!(gone["removeSyncSchedule"], true);
    assert_eq!(schedule_of(&app, &t.token, &connector).await, Value::Null);
    let again = app
        .ok(removed, json!({ "c": connector }), Some(&t.token))
        .await;
    assert_eq!(again["removeSyncSchedule"], false);

    // Another tenant's connector is not there; a viewer may not schedule.
    let other = app.sign_up().await;
    let body = app
        .gql(
            SET,
            json!({ "c": connector, "s": { "intervalSeconds": 60 } }),
            Some(&other.token),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    let viewer = app.member(&t, "VIEWER").await;
    let body = app
        .gql(
            SET,
            json!({ "c": connector, "s": { "intervalSeconds": 60 } }),
            Some(&viewer),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body:#}");
}

#[tokio::test]
async fn a_killed_workers_run_is_resumed_by_another_worker_with_every_record_once() {
    let api = crate::sync_control::slow_api().await;
    let resume = [
        ("AUTONOMOS__SYNC__BATCH_SIZE", "2"),
        ("AUTONOMOS__SYNC__RESUME_STALE_AFTER_SECS", "3"),
    ];
    // The API process does not work: its sync requests wait for a worker.
    let app = app_with(0, |s| {
        s.workers.embedded = false;
        s.sync.batch_size = 2;
    })
    .await;
    let first = WorkerProcess::start(&app, &resume).await;
    let t = app.sign_up().await;
    let (connector, run) = slow_sync(&app, &t, &api).await;
    crate::sync_control::wait_for(&app, &t.token, &run, |r| {
        r["counts"]["eventsWritten"].as_u64().unwrap_or(0) >= 10
    })
    .await;
    first.kill().await;
    let killed_at = Instant::now();
    let _second = WorkerProcess::start(&app, &resume).await;
    let done = crate::sync_control::wait_for(&app, &t.token, &run, |r| {
        r["status"] != "QUEUED" && r["status"] != "RUNNING"
    })
    .await;
    assert_eq!(done["status"], "SUCCEEDED", "{done:#}");
    assert_eq!(done["attempts"], 2, "{done:#}");
    assert!(killed_at.elapsed() < Duration::from_secs(60));
    assert_eq!(
        events_of(&app, &t.token, &connector).await,
        crate::sync_control::CUSTOMERS as u64,
        "every record once"
    );
    assert_eq!(
        done["counts"]["eventsWritten"].as_u64().unwrap()
            + done["counts"]["eventsUnchanged"].as_u64().unwrap(),
        crate::sync_control::CUSTOMERS as u64,
        "{done:#}"
    );
}

#[tokio::test]
async fn a_process_whose_run_was_taken_over_stores_nothing_more_and_the_run_finishes_once() {
    let api = crate::sync_control::slow_api().await;
    let app = app_with(0, |s| s.sync.batch_size = 2).await;
    let t = app.sign_up().await;
    let (connector, run) = slow_sync(&app, &t, &api).await;
    crate::sync_control::wait_for(&app, &t.token, &run, |r| {
        r["counts"]["eventsWritten"].as_u64().unwrap_or(0) >= 6
    })
    .await;
    // Another process takes the job over (as if this one had stopped beating).
    let owner = Database::connect(app.settings.database.migration_url.expose_secret())
        .await
        .unwrap();
    let job = run.parse::<uuid::Uuid>().unwrap();
    owner
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            // A live successor: it beats, so no other test's worker adopts the job meanwhile.
            "UPDATE jobs SET claimed_by = 'another-process', heartbeat_at = now() + interval '1 hour'
             WHERE id = $1",
            [job.into()],
        ))
        .await
        .unwrap();
    // At most the batch in flight lands; after that this process stores nothing.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fenced = events_of(&app, &t.token, &connector).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        events_of(&app, &t.token, &connector).await,
        fenced,
        "a taken-over run kept writing"
    );
    let after = crate::sync_control::run_of(&app, &t.token, &run).await;
    assert_eq!(
        after["status"], "RUNNING",
        "it did not finish the successor's run: {after:#}"
    );

    // The successor goes away too; the run is adopted and finishes with every record once.
    owner
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE jobs SET heartbeat_at = now() - interval '10 minutes' WHERE id = $1",
            [job.into()],
        ))
        .await
        .unwrap();
    autonomos::domains::pipeline::service::resume_stale(&app.services.pipeline, true)
        .await
        .unwrap();
    // Adopted here, or by a worker of another test on this database first.
    let done = crate::sync_control::wait_for(&app, &t.token, &run, |r| {
        r["status"] != "QUEUED" && r["status"] != "RUNNING"
    })
    .await;
    assert_eq!(done["status"], "SUCCEEDED", "{done:#}");
    assert_eq!(
        events_of(&app, &t.token, &connector).await,
        crate::sync_control::CUSTOMERS as u64
    );
}

async fn events_of(app: &TestApp, token: &str, connector: &str) -> u64 {
    app.ok(
        "query($c: ID!) { canonicalEvents(filter: { connectorId: $c }) { totalCount } }",
        json!({ "c": connector }),
        Some(token),
    )
    .await["canonicalEvents"]["totalCount"]
        .as_u64()
        .unwrap()
}

/// A connector to the slow Stripe-like API of `sync_control` and a sync run of it, started.
async fn slow_sync(
    app: &TestApp,
    t: &TestTenant,
    api: &crate::fake_api::FakeApi,
) -> (String, String) {
    let connector = app
        .create_connector(
            &t.token,
            "stripe",
            "REST",
            crate::rest_sources::shipped("stripe", &api.url),
        )
        .await;
    let run = app
        .ok(
            "mutation($id: ID!) { syncConnector(id: $id) { id } }",
            json!({ "id": connector }),
            Some(&t.token),
        )
        .await["syncConnector"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (connector, run)
}

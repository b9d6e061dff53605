//! Faults on the real stack: each test gets a PostgreSQL and a Redis of its own (started by
//! scripts/services.sh in a scratch state directory), so it can crash them without disturbing
//! the other tests.
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_code, free_port, project_root, spawn_app_with, TestApp};

/// A scratch PostgreSQL + Redis pair, stopped and removed on drop.
struct Services {
    dir: PathBuf,
    pg_port: u16,
    redis_port: u16,
}

impl Services {
    fn start() -> Self {
        let services = Self {
            dir: std::env::temp_dir().join(format!("autonomos-faults-{}", Uuid::now_v7().simple())),
            pg_port: free_port(),
            redis_port: free_port(),
        };
        services.run("start");
        services
    }

    /// `scripts/services.sh <command>` for this pair.
    fn script(&self, command: &str) -> std::process::Command {
        let mut script = std::process::Command::new("bash");
        script
            .arg(project_root().join("scripts/services.sh"))
            .arg(command)
            .env("AUTONOMOS_STATE_DIR", &self.dir)
            .env("AUTONOMOS_PG_PORT", self.pg_port.to_string())
            .env("AUTONOMOS_REDIS_PORT", self.redis_port.to_string());
        script
    }

    fn run(&self, command: &str) {
        let out = self.script(command).output().unwrap();
        assert!(
            out.status.success(),
            "services.sh {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn point(&self, s: &mut autonomos::config::Settings) {
        let port = |url: &str| url.replace(":54329/", &format!(":{}/", self.pg_port));
        use secrecy::ExposeSecret;
        s.database.url = SecretString::from(port(s.database.url.expose_secret()));
        s.database.migration_url =
            SecretString::from(port(s.database.migration_url.expose_secret()));
        s.redis.url = SecretString::from(format!("redis://127.0.0.1:{}/0", self.redis_port));
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let _ = self.script("stop").output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Each step of a fault test must finish in time: a hang is a failure that names its step.
async fn step<T>(what: &str, secs: u64, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("step timed out after {secs} s: {what}"))
}

/// Polls `check` every 200 ms until it returns `Some`.
async fn until<T, F: Future<Output = Option<T>>>(
    what: &str,
    secs: u64,
    check: impl Fn() -> F,
) -> T {
    step(what, secs, async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
}

/// A CSV connector over `rows` accounts and a sync run started on it (not waited for):
/// (connector id, run id).
async fn start_sync(app: &TestApp, token: &str, name: &str, rows: usize) -> (String, String) {
    let rel = format!("faults-{}", Uuid::now_v7().simple());
    let dir = app.files_of_token(token).await.join(&rel);
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("id,Account Name,Website,Industry\n");
    for i in 0..rows {
        csv.push_str(&format!("{i},Company {i},c{i}.test,Energy\n"));
    }
    std::fs::write(dir.join("accounts.csv"), csv).unwrap();
    let connector = app
        .create_connector(
            token,
            name,
            "CSV",
            json!({ "path": format!("{rel}/accounts.csv"), "idColumn": "id" }),
        )
        .await;
    let run = app
        .ok(
            "mutation($id: ID!) { syncConnector(id: $id) { id } }",
            json!({ "id": connector }),
            Some(token),
        )
        .await["syncConnector"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (connector, run)
}

async fn health(app: &TestApp) -> (u16, Value) {
    let resp = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

const CREATE_MAPPING: &str = "mutation($f: String!) { createMapping(input: { sourceSystem: \"faults\", sourceEntity: \"e\", sourceField: $f, canonicalEntity: \"account\", canonicalField: \"name\" }) { id } }";

async fn post_with_key(app: &TestApp, token: &str, field: &str, key: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "query": CREATE_MAPPING, "variables": { "f": field } }))
        .send()
        .await
        .unwrap()
}

async fn sync_run(app: &TestApp, token: &str, id: &str) -> Value {
    app.gql(
        "query($id: ID!) { syncRun(id: $id) { status attempts counts { eventsWritten } } }",
        json!({ "id": id }),
        Some(token),
    )
    .await
}

/// The run once it is no longer QUEUED or RUNNING (the `syncRun` response).
async fn finished(app: &TestApp, token: &str, run: &str, what: &str, secs: u64) -> Value {
    until(what, secs, || async {
        let r = sync_run(app, token, run).await;
        let status = r["data"]["syncRun"]["status"].as_str()?.to_owned();
        (status != "QUEUED" && status != "RUNNING").then_some(r)
    })
    .await
}

#[tokio::test]
async fn redis_killed_mid_run_degrades_as_documented_loses_nothing_and_recovers() {
    let services = Services::start();
    let app = spawn_app_with(|s| services.point(s)).await;
    let t = app.sign_up().await;
    let (connector, run) = start_sync(&app, &t.token, "redis-fault", 2000).await;

    services.run("crash-redis");
    // Reads, writes, proposals, sign-in and the running sync go on without Redis.
    let me = step(
        "a query",
        15,
        app.gql("{ me { email } }", json!({}), Some(&t.token)),
    )
    .await;
    assert_eq!(me["data"]["me"]["email"], t.email, "{me:#}");
    for i in 0..5 {
        let body = step(
            "a mutation",
            15,
            app.gql(
                CREATE_MAPPING,
                json!({ "f": format!("down{i}") }),
                Some(&t.token),
            ),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    let keyed = step(
        "a keyed mutation",
        15,
        post_with_key(&app, &t.token, "keyed", "k-outage"),
    )
    .await;
    assert_eq!(keyed.status(), 200, "runs without the replay guarantee");
    let proposed = step(
        "a proposal",
        30,
        app.gql(
            "mutation { proposeMappings(input: { sourceSystem: \"faults\", sourceEntity: \"p\", fields: [{ name: \"Company Name\" }] }) { proposals { canonicalField } } }",
            json!({}),
            Some(&t.token),
        ),
    )
    .await;
    assert_eq!(
        proposed["data"]["proposeMappings"]["proposals"][0]["canonicalField"], "name",
        "{proposed:#}"
    );
    let login = step(
        "a login",
        15,
        app.gql(
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            json!({ "i": { "email": t.email, "password": crate::helpers::PASSWORD } }),
            None,
        ),
    )
    .await;
    assert!(login["data"]["login"]["token"].is_string(), "{login:#}");
    let snapshot = step(
        "the live snapshot",
        15,
        app.gql("{ flowEventsSnapshot { id } }", json!({}), Some(&t.token)),
    )
    .await;
    assert_eq!(
        error_code(&snapshot),
        "UNAVAILABLE",
        "live events say why: {snapshot:#}"
    );
    let (status, body) = step("health", 15, health(&app)).await;
    assert_eq!(
        (status, body["redis"].as_str(), body["postgres"].as_str()),
        (503, Some("unavailable"), Some("ok"))
    );
    let done = finished(
        &app,
        &t.token,
        &run,
        "the sync run to finish without Redis",
        90,
    )
    .await;
    assert_eq!(done["data"]["syncRun"]["status"], "SUCCEEDED", "{done:#}");
    assert_eq!(done["data"]["syncRun"]["counts"]["eventsWritten"], 2000);

    services.run("start");
    until("health after Redis is back", 30, || async {
        (health(&app).await.0 == 200).then_some(())
    })
    .await;
    // Live events flow again and idempotency keys hold again.
    let after = app
        .gql(CREATE_MAPPING, json!({ "f": "after" }), Some(&t.token))
        .await;
    assert!(after.get("errors").is_none(), "{after:#}");
    until("a flow event published after the restart", 30, || async {
        let s = app
            .gql(
                "{ flowEventsSnapshot(layers: [DCL]) { kind } }",
                json!({}),
                Some(&t.token),
            )
            .await;
        s["data"]["flowEventsSnapshot"]
            .as_array()
            .filter(|e| !e.is_empty())
            .map(|_| ())
    })
    .await;
    let first = post_with_key(&app, &t.token, "keyed-after", "k-after").await;
    assert_eq!(first.status(), 200);
    let again = post_with_key(&app, &t.token, "keyed-after", "k-after").await;
    assert_eq!(
        again
            .headers()
            .get("idempotency-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );

    // Nothing written during the outage was lost.
    let counts = app
        .ok(
            "query($c: ID) { mappings(filter: { sourceSystem: \"faults\" }, first: 100) { totalCount } canonicalEvents(filter: { connectorId: $c }, first: 1) { totalCount } }",
            json!({ "c": connector }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        counts["mappings"]["totalCount"],
        5 + 1 + 1 + 1,
        "{counts:#}"
    );
    assert_eq!(counts["canonicalEvents"]["totalCount"], 2000);
}

#[tokio::test]
async fn postgres_restarted_mid_run_the_app_reconnects_and_the_run_resumes_without_duplicates() {
    let services = Services::start();
    let app = spawn_app_with(|s| {
        services.point(s);
        s.database.acquire_timeout_secs = 2;
        s.workers.tick_millis = 1000;
        s.sync.resume_stale_after_secs = 3;
    })
    .await;
    let t = app.sign_up().await;
    let rows = 6000;
    let (connector, run) = start_sync(&app, &t.token, "pg-fault", rows).await;
    until("the run to write its first batches", 60, || async {
        let r = sync_run(&app, &t.token, &run).await;
        (r["data"]["syncRun"]["counts"]["eventsWritten"].as_u64()? > 0).then_some(())
    })
    .await;

    services.run("crash-postgres");
    let down = step(
        "a query while PostgreSQL is down",
        15,
        app.gql("{ me { email } }", json!({}), Some(&t.token)),
    )
    .await;
    assert_eq!(error_code(&down), "UNAVAILABLE", "{down:#}");
    let (status, body) = step("health", 15, health(&app)).await;
    assert_eq!(
        (status, body["postgres"].as_str()),
        (503, Some("unavailable"))
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    services.run("start");
    until("queries to work again", 30, || async {
        let me = app.gql("{ me { email } }", json!({}), Some(&t.token)).await;
        me["data"]["me"]["email"].is_string().then_some(())
    })
    .await;
    let done = finished(
        &app,
        &t.token,
        &run,
        "the interrupted run to be resumed and finish",
        120,
    )
    .await;
    let r = &done["data"]["syncRun"];
    assert_eq!(r["status"], "SUCCEEDED", "{done:#}");
    assert!(
        r["attempts"].as_u64().unwrap() >= 2,
        "resumed by the reaper: {done:#}"
    );
    let events = app
        .ok(
            "query($c: ID) { canonicalEvents(filter: { connectorId: $c }, first: 1) { totalCount } }",
            json!({ "c": connector }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        events["canonicalEvents"]["totalCount"], rows,
        "every record once"
    );
}

//! Findings of the attacker's probe (issue 16) about where a tenant's connectors may reach,
//! reproduced through the public API: the platform's own database, Redis and API, loopback,
//! private and metadata addresses in every spelling, redirects and next links, port scans
//! through error texts, and files of other tenants.
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::fake_api::{FakeApi, Response};
use crate::helpers::{error_code, free_port, spawn_app, spawn_app_with, TestApp, TestTenant};

const CREATE: &str = "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }";

async fn create(app: &TestApp, t: &TestTenant, kind: &str, config: Value) -> Value {
    let name = format!("probe-{}", uuid::Uuid::now_v7().simple());
    app.gql(
        CREATE,
        json!({ "i": { "name": name, "kind": kind, "config": config } }),
        Some(&t.token),
    )
    .await
}

/// The config field a refusal names, and its message.
fn refused_field(body: &Value) -> (String, String) {
    assert_eq!(error_code(body), "BAD_USER_INPUT", "{body:#}");
    let problem = &body["errors"][0]["extensions"]["problems"][0];
    (
        problem["field"].as_str().unwrap().to_owned(),
        problem["message"].as_str().unwrap().to_owned(),
    )
}

fn rest(base_url: &str) -> Value {
    json!({ "baseUrl": base_url, "entities": [{ "name": "things", "endpoint": "/things" }] })
}

#[tokio::test]
async fn the_platforms_own_database_redis_and_api_stay_refused_even_with_loopback_allowed() {
    // The test settings allow 127.0.0.0/8, as a self-hosted operator might.
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let db = url::Url::parse(app.settings.database.migration_url.expose_secret()).unwrap();
    let port = db.port().unwrap();
    // The finding: the owner role, tables tenants and users, read back as samples.
    for host in [
        "127.0.0.1",
        "localhost",
        "2130706433",
        "::ffff:127.0.0.1",
        "127.0.0.2",
        "0.0.0.0",
    ] {
        let body = create(
            &app,
            &t,
            "POSTGRES",
            json!({ "host": host, "port": port, "database": db.path().trim_start_matches('/'),
                    "user": db.username(), "password": db.password().unwrap(),
                    "tables": ["tenants", "users"], "sslMode": "disable" }),
        )
        .await;
        let (field, message) = refused_field(&body);
        assert_eq!(field, "config.host", "{host}");
        assert!(message.contains("platform's own"), "{host}: {message}");
    }
    let redis = url::Url::parse(app.settings.redis.url.expose_secret()).unwrap();
    for base in [
        format!("http://127.0.0.1:{}/", redis.port().unwrap()),
        format!("{}/", app.address),
        format!("http://localhost:{port}/"),
    ] {
        let (field, message) = refused_field(&create(&app, &t, "REST", rest(&base)).await);
        assert_eq!(field, "config.baseUrl");
        assert!(message.contains("platform's own"), "{base}: {message}");
    }
    // Nothing was created.
    let listed = app
        .ok(
            "{ connectors(first: 50) { totalCount } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    assert_eq!(listed["connectors"]["totalCount"], 0);
}

#[tokio::test]
async fn without_an_allow_list_internal_and_metadata_addresses_are_refused_in_every_spelling() {
    let app = spawn_app_with(|s| s.outbound.allow.clear()).await;
    let t = app.sign_up().await;
    // A server on loopback that must never be asked anything.
    let inside =
        FakeApi::start(|_| Response::json(json!([{ "id": "1", "secret": "internal" }]))).await;
    let port = inside.url.rsplit(':').next().unwrap().to_owned();
    let bases = [
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://metadata.google.internal/computeMetadata/v1".to_owned(),
        inside.url.clone(),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
        format!("http://0.0.0.0:{port}"),
        format!("http://2130706433:{port}"),
        format!("http://0x7f.1:{port}"),
        format!("http://[::ffff:7f00:1]:{port}"),
        "http://10.0.0.1/".to_owned(),
        "http://192.168.1.1/".to_owned(),
        "http://[fd00::1]/".to_owned(),
        "http://user:pass@api.example.com/".to_owned(),
    ];
    for base in &bases {
        let (field, message) = refused_field(&create(&app, &t, "REST", rest(base)).await);
        assert_eq!(field, "config.baseUrl", "{base}: {message}");
    }
    for host in ["127.0.0.1", "10.0.0.5", "169.254.169.254", "localhost"] {
        let body = create(
            &app,
            &t,
            "POSTGRES",
            json!({ "host": host, "port": 5432, "database": "crm", "user": "u" }),
        )
        .await;
        assert_eq!(refused_field(&body).0, "config.host", "{host}");
    }
    assert!(inside.hits().is_empty(), "{:?}", inside.hits());
}

#[tokio::test]
async fn redirects_and_next_links_are_checked_again_before_any_request() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let redis = url::Url::parse(app.settings.redis.url.expose_secret()).unwrap();
    let to_redis = format!("http://127.0.0.1:{}/", redis.port().unwrap());
    let metadata = "http://169.254.169.254/latest/meta-data/iam".to_owned();
    let (r, m) = (to_redis.clone(), metadata.clone());
    let api = FakeApi::start(move |req| match req.path.as_str() {
        "/to-metadata" => Response::redirect(&m),
        "/to-redis" => Response::redirect(&r),
        "/paged" => Response::json(json!({ "data": [{ "id": "1", "name": "Acme" }], "next": r })),
        _ => Response::status(404),
    })
    .await;
    let mut seen = Vec::new();
    for (endpoint, pagination) in [
        ("/to-metadata", json!({ "type": "none" })),
        ("/to-redis", json!({ "type": "none" })),
        (
            "/paged",
            json!({ "type": "nextLink", "nextLinkPath": "next" }),
        ),
    ] {
        let records_path = if endpoint == "/paged" {
            json!("data")
        } else {
            json!(null)
        };
        let connector = app
            .create_connector(
                &t.token,
                &format!("hop{endpoint}").replace('/', "-"),
                "REST",
                json!({ "baseUrl": api.url, "retry": { "maxAttempts": 1 },
                        "entities": [{ "name": "things", "endpoint": endpoint, "recordsPath": records_path, "pagination": pagination }] }),
            )
            .await;
        let run = app.sync(&t.token, &connector).await;
        let message = run["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains("connectors may not reach it"),
            "{endpoint}: {run:#}"
        );
        seen.push(message);
    }
    assert!(seen[0].contains("metadata"), "{seen:?}");
    assert!(seen[1].contains("platform's own"), "{seen:?}");
    assert!(seen[2].contains("platform's own"), "{seen:?}");
}

#[tokio::test]
async fn connection_failures_read_the_same_whatever_the_port_holds() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    // A closed port, an HTTP server, and a port that accepts and says nothing.
    let closed = free_port();
    let http = FakeApi::start(|_| Response::status(404)).await;
    let http_port: u16 = http.url.rsplit(':').next().unwrap().parse().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let mut messages = Vec::new();
    for port in [closed, http_port, silent_port] {
        let connector = app
            .create_connector(
                &t.token,
                &format!("scan-{port}"),
                "POSTGRES",
                json!({ "host": "127.0.0.1", "port": port, "database": "crm", "user": "reader", "sslMode": "disable" }),
            )
            .await;
        let run = app.sync(&t.token, &connector).await;
        assert_eq!(run["status"], "FAILED", "{run:#}");
        let message = run["errors"][0]["message"].as_str().unwrap().to_owned();
        messages.push(message.replace(&port.to_string(), "<port>"));
    }
    assert!(messages.iter().all(|m| m == &messages[0]), "{messages:#?}");
    drop(silent);
}

#[tokio::test]
async fn csv_connectors_read_their_own_tenants_files_only() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    std::fs::write(
        app.files_of(&a).join("private.csv"),
        "id,name\n1,Secret Co\n",
    )
    .unwrap();
    // The finding: a sample under the shared file root, read by every tenant.
    let shared = app.settings.sync.file_root.join("demo");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("accounts.csv"), "id,name\n1,Demo Co\n").unwrap();
    let theirs = app.files_of(&a).join("private.csv").display().to_string();
    for (i, path) in [
        "demo/accounts.csv".to_owned(),
        format!("../{}/private.csv", a.tenant_id),
        "../../demo/accounts.csv".to_owned(),
        theirs,
    ]
    .into_iter()
    .enumerate()
    {
        let connector = app
            .create_connector(
                &b.token,
                &format!("steal-{i}"),
                "CSV",
                json!({ "path": path, "idColumn": "id" }),
            )
            .await;
        let run = app.sync(&b.token, &connector).await;
        assert_eq!(run["status"], "FAILED", "{path}: {run:#}");
        assert_eq!(run["counts"]["recordsRead"], 0, "{path}");
    }
    // A's own connector reads A's file.
    let own = app
        .create_connector(
            &a.token,
            "mine",
            "CSV",
            json!({ "path": "private.csv", "idColumn": "id" }),
        )
        .await;
    assert_eq!(app.sync(&a.token, &own).await["counts"]["recordsRead"], 1);
}

#[tokio::test]
async fn the_demo_tenant_reads_its_own_copy_of_the_sample() {
    let root = std::env::temp_dir().join(format!("demo-root-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(root.join("demo")).unwrap();
    for file in [
        "accounts.csv",
        "crm-contacts.csv",
        "hubspot-companies.csv",
        "hubspot-contacts.csv",
    ] {
        std::fs::copy(
            crate::helpers::project_root()
                .join("data/files/demo")
                .join(file),
            root.join("demo").join(file),
        )
        .unwrap();
    }
    let app = spawn_app_with(|s| s.sync.file_root = root.clone()).await;
    // A demo login an earlier run left in the shared test database is renamed away: the seed
    // starts anew (its tenant stays, as audit logs are kept).
    {
        use sea_orm::{ConnectionTrait, Database};
        use secrecy::ExposeSecret;
        let owner = Database::connect(app.settings.database.migration_url.expose_secret())
            .await
            .unwrap();
        owner
            .execute_unprepared(&format!(
                "UPDATE users SET email = 'was-' || id || '@example.com' WHERE email = '{}'",
                autonomos::demo::DEMO_EMAIL
            ))
            .await
            .unwrap();
    }
    autonomos::demo::seed(&app.services, &app.settings.sync.file_root)
        .await
        .map_err(|e| e.message())
        .unwrap();
    let login = app
        .ok(
            "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token tenant { id } } }",
            json!({ "e": autonomos::demo::DEMO_EMAIL, "p": autonomos::demo::DEMO_PASSWORD }),
            None,
        )
        .await;
    let token = login["login"]["token"].as_str().unwrap().to_owned();
    let tenant: uuid::Uuid = login["login"]["tenant"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        autonomos::domains::connectors::kinds::csv::tenant_dir(&root, tenant)
            .join("demo/accounts.csv")
            .is_file()
    );
    let connectors = app
        .ok(
            "{ connectors(first: 10) { edges { node { id name } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    let demo = connectors["connectors"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["name"] == "Demo accounts (CSV)")
        .unwrap()["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = app.sync(&token, &demo).await;
    assert_ne!(run["status"], "FAILED", "{run:#}");
    assert!(
        run["counts"]["recordsRead"].as_u64().unwrap() > 0,
        "{run:#}"
    );
    // The overlapping sources were synced by the seed: unified records from both CRMs, and a
    // pair waiting for a person.
    let unified = app
        .ok(
            "{ records(entity: \"account\", sort: { field: \"name\" }, first: 50) { edges { node { memberCount data } } }
               matchCandidates(entity: \"account\", status: ALL) { totalCount } }",
            json!({}),
            Some(&token),
        )
        .await;
    let members: Vec<i64> = unified["records"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["memberCount"].as_i64().unwrap())
        .collect();
    assert!(members.iter().any(|n| *n >= 2), "{unified:#}");
    assert!(
        unified["matchCandidates"]["totalCount"].as_i64().unwrap() >= 1,
        "{unified:#}"
    );
}

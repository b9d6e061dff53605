//! Findings of the attacker's probe (issue 16) about who may do what, reproduced through the
//! public API: fragment bombs before any expansion, roles read from the database at every
//! request, session revocation, the WebSocket under the same rules as HTTP, NUL bytes, and
//! the production settings.
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fuzz::fragment_bomb;
use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp, PASSWORD};
use crate::telemetry::{Got, Ws};

#[tokio::test]
async fn a_fragment_bomb_is_refused_fast_without_credentials() {
    let app = spawn_app().await;
    let doc = fragment_bomb(20);
    assert!(doc.len() < 1_024, "{}", doc.len());
    let mut took = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let body = app.gql(&doc, json!({}), None).await;
        took.push(started.elapsed());
        assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body:#}");
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("fields"));
    }
    took.sort();
    assert!(took[2] < Duration::from_millis(50), "median {:?}", took[2]);
    // The same bomb split over a batch, and aliases counted across the batch.
    let batch: Vec<Value> = (0..3)
        .map(|_| json!({ "query": format!("{{ {} }}", (0..12).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" ")) }))
        .collect();
    let resp = app.post_raw(Value::Array(batch), None).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body:#}");
    // The server is still at ease.
    let health = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// The code a `{ me { id } }` with `token` gets (None when it is answered).
async fn me_refused(app: &TestApp, token: &str) -> Option<String> {
    let body = app.gql("{ me { id } }", json!({}), Some(token)).await;
    body.get("errors").map(|_| error_code(&body))
}

/// The id of the user `token` belongs to.
async fn my_id(app: &TestApp, token: &str) -> String {
    app.ok("{ me { id } }", json!({}), Some(token)).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const CREATE_KEY: &str =
    "mutation { createApiKey(input: { name: \"k\", role: VIEWER }) { apiKey { id } secret } }";

#[tokio::test]
async fn roles_status_and_membership_come_from_the_database_at_every_request() {
    let app = spawn_app().await;
    let admin = app.sign_up().await;
    let editor = app.member(&admin, "EDITOR").await;
    let me = my_id(&app, &editor).await;
    let create = |name: &str| {
        json!({ "query": "mutation($n: String!) { createConnector(input: { name: $n, kind: CSV, config: { path: \"a.csv\" } }) { id } }",
                "variables": { "n": name } })
    };
    let write = |name: &'static str| {
        let (app, editor) = (&app, editor.clone());
        async move {
            app.post_raw(create(name), Some(&editor))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert!(write("before").await.get("errors").is_none());
    // Demoted: the old token cannot write from the next request on.
    app.ok(
        "mutation($id: ID!) { changeUserRole(userId: $id, role: VIEWER) { role } }",
        json!({ "id": me }),
        Some(&admin.token),
    )
    .await;
    assert_eq!(error_code(&write("after-demotion").await), "FORBIDDEN");
    // Disabled: refused altogether; enabled again: back (still a viewer).
    app.ok(
        "mutation($id: ID!) { disableUser(id: $id) { status } }",
        json!({ "id": me }),
        Some(&admin.token),
    )
    .await;
    assert_eq!(
        me_refused(&app, &editor).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
    app.ok(
        "mutation($id: ID!) { enableUser(id: $id) { status } }",
        json!({ "id": me }),
        Some(&admin.token),
    )
    .await;
    // Enabling ends earlier sessions too: sign in again.
    assert_eq!(
        me_refused(&app, &editor).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
    // Removed: gone.
    let viewer = app.member(&admin, "VIEWER").await;
    let viewer_id = my_id(&app, &viewer).await;
    app.ok(
        "mutation($id: ID!) { removeUser(id: $id) { id } }",
        json!({ "id": viewer_id }),
        Some(&admin.token),
    )
    .await;
    assert_eq!(
        me_refused(&app, &viewer).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
    // A token naming another tenant than the user's, validly signed: refused.
    let other = app.sign_up().await;
    let (forged, _) = app
        .services
        .auth
        .tokens()
        .issue(
            admin.user_id.parse().unwrap(),
            other.tenant_id.parse().unwrap(),
            autonomos::domains::auth::model::Role::Admin,
        )
        .unwrap();
    assert_eq!(
        error_code(
            &app.gql("{ tenant { name } }", json!({}), Some(&forged))
                .await
        ),
        "UNAUTHENTICATED"
    );
    // Ten years of `exp`, validly signed: refused.
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "sub": admin.user_id, "tid": admin.tenant_id, "role": "ADMIN", "iss": "autonomos",
                         "iat": now, "exp": now + 10 * 365 * 24 * 3600, "jti": uuid::Uuid::new_v4() });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(app.settings.auth.jwt_key_id.clone());
    let secret = secrecy::ExposeSecret::expose_secret(&app.settings.auth.jwt_secret).to_owned();
    let forever = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        me_refused(&app, &forever).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
    // The admin's own token still works throughout.
    app.ok("{ me { id } }", json!({}), Some(&admin.token)).await;
}

#[tokio::test]
async fn sessions_end_on_revocation_and_password_change() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let login = |password: &'static str| {
        let (app, email) = (&app, t.email.clone());
        async move {
            app.gql(
                "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }",
                json!({ "e": email, "p": password }),
                None,
            )
            .await
        }
    };
    let second = login(PASSWORD).await["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        "mutation { revokeSessions { id } }",
        json!({}),
        Some(&t.token),
    )
    .await;
    for old in [&t.token, &second] {
        let body = app.gql("{ me { id } }", json!({}), Some(old)).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"));
    }
    // Signing in again at once works.
    let fresh = login(PASSWORD).await["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok("{ me { id } }", json!({}), Some(&fresh)).await;
    // A password change ends the other sessions and hands out a new one.
    let wrong = app
        .gql(
            "mutation { changePassword(input: { currentPassword: \"nope nope nope\", newPassword: \"a brand new passphrase\" }) { token } }",
            json!({}),
            Some(&fresh),
        )
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    let changed = app
        .ok(
            "mutation($p: String!) { changePassword(input: { currentPassword: $p, newPassword: \"a brand new passphrase\" }) { token } }",
            json!({ "p": PASSWORD }),
            Some(&fresh),
        )
        .await["changePassword"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        me_refused(&app, &fresh).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
    app.ok("{ me { id } }", json!({}), Some(&changed)).await;
    assert_eq!(error_code(&login(PASSWORD).await), "UNAUTHENTICATED");
    assert!(login("a brand new passphrase")
        .await
        .get("errors")
        .is_none());
    // An admin ends another user's sessions; a viewer may not.
    let admin = crate::helpers::TestTenant {
        token: changed.clone(),
        tenant_id: t.tenant_id.clone(),
        user_id: t.user_id.clone(),
        email: t.email.clone(),
    };
    let viewer = app.member(&admin, "VIEWER").await;
    let body = app
        .gql(
            "mutation($id: ID!) { revokeSessions(userId: $id) { id } }",
            json!({ "id": t.user_id }),
            Some(&viewer),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let viewer_id = app.ok("{ me { id } }", json!({}), Some(&viewer)).await["me"]["id"].clone();
    app.ok(
        "mutation($id: ID!) { revokeSessions(userId: $id) { id } }",
        json!({ "id": viewer_id }),
        Some(&changed),
    )
    .await;
    assert_eq!(
        me_refused(&app, &viewer).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn the_websocket_obeys_the_http_limits() {
    let app = spawn_app_with(|s| s.limits.writes_per_minute = 3).await;
    let t = app.sign_up().await;
    let mut ws = Ws::connect(&app.address, &t.token).await;
    // Mutations over the socket draw on the same write budget.
    let mut limited = 0;
    for i in 0..8 {
        ws.subscribe(
            &format!("m{i}"),
            "mutation { revokeApiKey(id: \"00000000-0000-0000-0000-000000000000\") { id } }",
            json!({}),
        )
        .await;
    }
    for _ in 0..8 {
        match ws.next(Duration::from_secs(10)).await {
            Some(Got::Other(v)) if v["type"] == "error" => {
                assert_eq!(
                    v["payload"][0]["extensions"]["code"], "RATE_LIMITED",
                    "{v:#}"
                );
                limited += 1;
            }
            Some(Got::Next(..)) => {
                // Let its completion arrive too.
                let _ = ws.next(Duration::from_secs(5)).await;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(limited >= 4, "{limited} of 8 rate-limited");
    // Alias and cost limits as over HTTP.
    let aliases = format!(
        "query {{ {} }}",
        (0..40)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    ws.subscribe("aliases", &aliases, json!({})).await;
    ws.subscribe("bomb", &fragment_bomb(20), json!({})).await;
    for id in ["aliases", "bomb"] {
        match ws.next(Duration::from_secs(10)).await {
            Some(Got::Other(v)) if v["type"] == "error" && v["id"] == id => {
                assert_eq!(
                    v["payload"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
                    "{v:#}"
                );
            }
            other => panic!("{id}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_websocket_closes_when_its_access_ends() {
    let app = spawn_app_with(|s| s.auth.recheck_secs = 1).await;
    let t = app.sign_up().await;
    // A socket opened with an API key closes once the key is revoked.
    let key = app.ok(CREATE_KEY, json!({}), Some(&t.token)).await;
    let (key_id, secret) = (
        key["createApiKey"]["apiKey"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        key["createApiKey"]["secret"].as_str().unwrap().to_owned(),
    );
    let mut keyed = following(&app, &secret).await;
    app.ok(
        "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
        json!({ "id": key_id }),
        Some(&t.token),
    )
    .await;
    assert_closes_with_4403(&mut keyed).await;
    // And one of a user who is demoted.
    let editor = app.member(&t, "EDITOR").await;
    let editor_id = my_id(&app, &editor).await;
    let mut demoted = following(&app, &editor).await;
    app.ok(
        "mutation($id: ID!) { changeUserRole(userId: $id, role: VIEWER) { id } }",
        json!({ "id": editor_id }),
        Some(&t.token),
    )
    .await;
    assert_closes_with_4403(&mut demoted).await;
    // And one whose token runs out (issued so that it has two seconds left).
    let short = app.token_expiring_in(&t, 2);
    let mut expiring = following(&app, &short).await;
    assert_closes_with_4403(&mut expiring).await;
}

/// A socket opened with `credential`, following the flow events.
async fn following(app: &crate::helpers::TestApp, credential: &str) -> Ws {
    let mut ws = Ws::connect(&app.address, credential).await;
    ws.subscribe("flow", "subscription { flowEvents { id } }", json!({}))
        .await;
    ws
}

async fn assert_closes_with_4403(ws: &mut Ws) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match ws.next(Duration::from_secs(10)).await {
            Some(Got::Closed(code, _)) => {
                assert_eq!(code, 4403);
                return;
            }
            Some(_) => continue,
            None => break,
        }
    }
    panic!("the socket stayed open");
}

#[tokio::test]
async fn nul_bytes_in_any_argument_are_bad_user_input_naming_it() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let cases = [
        ("query($s: String) { lineageGrid(search: $s, first: 1) { totalCount } }", json!({ "s": "a\u{0}" }), "$s"),
        ("query($f: LineageFilter) { lineageGrid(filter: $f, first: 1) { totalCount } }",
            json!({ "f": { "column": "SOURCE_FIELD", "op": "EQ", "value": "x\u{0}" } }), "$f.value"),
        ("mutation($n: String!) { createConnector(input: { name: $n, kind: CSV, config: { path: \"a.csv\" } }) { id } }",
            json!({ "n": "evil\u{0}" }), "$n"),
        ("mutation($c: JSON!) { createConnector(input: { name: \"c\", kind: CSV, config: $c }) { id } }",
            json!({ "c": { "path": "a\u{0}.csv" } }), "$c.path"),
        ("query($e: String!) { canonicalRecord(entity: $e, id: \"00000000-0000-0000-0000-000000000000\") { id } }",
            json!({ "e": "account\u{0}" }), "$e"),
        ("query($f: CanonicalEventFilter) { canonicalEvents(filter: $f, first: 1) { totalCount } }",
            json!({ "f": { "entity": "\u{0}" } }), "$f.entity"),
        ("query($f: MappingFilterInput) { mappings(filter: $f, first: 1) { totalCount } }",
            json!({ "f": { "sourceSystem": "x\u{0}" } }), "$f.sourceSystem"),
        ("query($f: AuditFilterInput) { auditLog(filter: $f, first: 1) { totalCount } }",
            json!({ "f": { "targetId": "\u{0}" } }), "$f.targetId"),
        ("{ lineageGrid(search: \"inline\\u0000\", first: 1) { totalCount } }", json!({}), "lineageGrid(search:)"),
    ];
    for (query, variables, field) in cases {
        let body = app.gql(query, variables, Some(&t.token)).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{query}: {body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["problems"][0]["field"], field,
            "{body:#}"
        );
    }
    // An unknown operation name is coded too.
    let body = app
        .post_raw(
            json!({ "query": "query A { me { id } }", "operationName": "B" }),
            Some(&t.token),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body:#}");
}

#[tokio::test]
async fn csv_rows_with_nul_bytes_or_binary_content_are_quarantined_not_fatal() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let mut csv =
        b"id,name,notes\n1,Acme,fine\n2,Glo\x00bex,nul\n3,Initech,bell\x07\x01\n4,Umbrella,fine\n"
            .to_vec();
    csv.extend_from_slice(b"5,\x00\x00\x00,\x00\n");
    std::fs::write(app.files_of(&t).join("binary.csv"), csv).unwrap();
    let connector = app
        .create_connector(
            &t.token,
            "binary",
            "CSV",
            json!({ "path": "binary.csv", "idColumn": "id" }),
        )
        .await;
    let run = app.sync(&t.token, &connector).await;
    assert_ne!(run["status"], "FAILED", "{run:#}");
    assert_eq!(run["counts"]["recordsRead"], 2, "{run:#}");
    assert_eq!(run["counts"]["quarantined"], 3, "{run:#}");
    let quarantined = app
        .ok(
            "query($id: ID!) { syncRun(id: $id) { quarantined(first: 10) { edges { node { rowNumber reason raw } } } } }",
            json!({ "id": run["id"] }),
            Some(&t.token),
        )
        .await;
    let rows = quarantined["syncRun"]["quarantined"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 3, "{quarantined:#}");
    for row in rows {
        assert!(
            row["node"]["reason"]
                .as_str()
                .unwrap()
                .contains("binary content"),
            "{row:#}"
        );
    }
}

#[tokio::test]
async fn metrics_need_their_token_when_one_is_set() {
    let app =
        spawn_app_with(|s| s.metrics.token = "scrape-secret-0123456789".to_owned().into()).await;
    let url = format!("{}/metrics", app.address);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        app.client
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let ok = app
        .client
        .get(&url)
        .bearer_auth("scrape-secret-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[test]
fn production_refuses_the_development_secrets_and_an_open_metrics_endpoint() {
    let mut s = crate::helpers::settings();
    let problem =
        |s: &autonomos::config::Settings| s.validate_production().unwrap_err().to_string();
    assert!(problem(&s).contains("auth.jwt_secret"), "{}", problem(&s));
    s.auth.jwt_secret = "a-production-secret-of-enough-length-0001"
        .to_owned()
        .into();
    assert!(problem(&s).contains("auth.secrets_key"));
    s.auth.secrets_key = "cHJvZHVjdGlvbi1rZXktb2YtMzItYnl0ZXMtZXhhY3Qh"
        .to_owned()
        .into();
    assert!(problem(&s).contains("database.url"));
    s.database.url = "postgres://app:a-real-password@db:5432/autonomos"
        .to_owned()
        .into();
    s.database.migration_url = "postgres://owner:another-real-one@db:5432/autonomos"
        .to_owned()
        .into();
    assert!(problem(&s).contains("metrics.token"));
    s.metrics.token = "scrape".to_owned().into();
    assert!(s.validate_production().is_ok());
}

#[tokio::test]
async fn rotating_the_secrets_key_reseals_connector_secrets_for_a_server_with_only_the_new_key() {
    use autonomos::infra::crypto::SecretsKey;
    use base64::Engine;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use secrecy::ExposeSecret;
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let api = crate::fake_api::FakeApi::start(|r| {
        if r.headers.get("authorization").map(String::as_str) == Some("Bearer tok-123") {
            crate::fake_api::Response::json(json!([{ "id": "1", "name": "Acme" }]))
        } else {
            crate::fake_api::Response::status(401)
        }
    })
    .await;
    let connector = app
        .create_connector(
            &t.token,
            "keyed",
            "REST",
            json!({ "baseUrl": api.url, "auth": { "type": "bearer", "token": "tok-123" },
                    "entities": [{ "name": "accounts", "endpoint": "/accounts" }] }),
        )
        .await;
    let old = app.settings.auth.secrets_key.expose_secret().to_owned();
    let new = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let key = SecretsKey::with_previous(&new, &[&old]).unwrap();
    let tenant: uuid::Uuid = t.tenant_id.parse().unwrap();
    let done = autonomos::domains::connectors::rotation::reseal_all(
        &app.settings.database,
        &key,
        Some(tenant),
    )
    .await
    .unwrap();
    assert_eq!((done.connectors, done.secrets), (1, 1));
    let owner = sea_orm::Database::connect(app.settings.database.migration_url.expose_secret())
        .await
        .unwrap();
    let row = owner
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT config->'auth'->>'token' FROM connectors WHERE id = $1::uuid",
            [connector.clone().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let sealed: String = row.try_get_by_index(0).unwrap();
    assert!(SecretsKey::from_base64(&old)
        .unwrap()
        .open(tenant, &sealed)
        .is_err());
    assert_eq!(
        SecretsKey::from_base64(&new)
            .unwrap()
            .open(tenant, &sealed)
            .unwrap(),
        "tok-123"
    );
    // A server that knows only the new key syncs with the secret.
    let rotated = spawn_app_with(|s| s.auth.secrets_key = new.clone().into()).await;
    let run = rotated.sync(&t.token, &connector).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
}

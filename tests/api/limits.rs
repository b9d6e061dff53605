//! Per-tenant rate limits (Redis token buckets) and idempotency keys on `/graphql`.
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, PASSWORD};

const CREATE: &str = "mutation($i: CreateMappingInput!) { createMapping(input: $i) { id } }";

fn mapping(field: &str) -> Value {
    json!({ "query": CREATE, "variables": { "i": {
        "sourceSystem": "limits", "sourceEntity": "companies", "sourceField": field,
        "canonicalEntity": "account", "canonicalField": "name" } } })
}

async fn post(app: &TestApp, body: &Value, token: &str, key: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    req.send().await.unwrap()
}

async fn mapping_count(app: &TestApp, token: &str) -> u64 {
    app.ok(
        "{ mappings(filter: { sourceSystem: \"limits\" }, first: 100) { totalCount } }",
        json!({}),
        Some(token),
    )
    .await["mappings"]["totalCount"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn writes_are_limited_per_tenant_with_retry_after_while_reads_go_on() {
    let app = spawn_app_with(|s| {
        s.limits.writes_per_minute = 5;
        s.limits.reads_per_minute = 1000;
    })
    .await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    for i in 0..5 {
        let resp = post(&app, &mapping(&format!("f{i}")), &a.token, None).await;
        assert_eq!(resp.status(), 200, "write {i}");
    }
    let refused = post(&app, &mapping("f5"), &a.token, None).await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=13).contains(&retry), "one write per 12 s: {retry}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert_eq!(body["errors"][0]["extensions"]["retryAfterSeconds"], retry);
    // Reads have their own budget; another tenant has its own buckets.
    assert_eq!(mapping_count(&app, &a.token).await, 5);
    assert_eq!(
        post(&app, &mapping("b0"), &b.token, None).await.status(),
        200
    );
    // A batch costs one per operation: two writes do not fit where one would not either.
    let batch = json!([
        mapping("b1"),
        mapping("b2"),
        mapping("b3"),
        mapping("b4"),
        mapping("b5")
    ]);
    assert_eq!(post(&app, &batch, &b.token, None).await.status(), 429);
}

#[tokio::test]
async fn unauthenticated_attempts_are_limited_per_address() {
    let app = spawn_app_with(|s| s.limits.anonymous_per_minute = 4).await;
    // This budget (4 a minute from loopback) is this test's alone; start it full.
    let mut redis = app.state.redis.clone();
    let _: () = redis::AsyncCommands::del(&mut redis, "rl:anon:4:127.0.0.1")
        .await
        .unwrap();
    let t = app.sign_up().await; // 1
    let login = |password: &str| {
        json!({ "query": "mutation($i: LoginInput!) { login(input: $i) { token } }",
                "variables": { "i": { "email": t.email, "password": password } } })
    };
    for _ in 0..3 {
        let resp = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&login("wrong password, guessed"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    // Brute force stops here, even with the right password; the signed-in tenant is unaffected.
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&login(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    app.ok("{ me { id } }", json!({}), Some(&t.token)).await;
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_response_and_refuse_reuse() {
    let app = spawn_app_with(|_| {}).await;
    let t = app.sign_up().await;
    let key = format!("create-{}", uuid::Uuid::now_v7());
    let first = post(&app, &mapping("once"), &t.token, Some(&key)).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotency-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = post(&app, &mapping("once"), &t.token, Some(&key)).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again, "the stored response, not a second run");
    assert_eq!(mapping_count(&app, &t.token).await, 1);

    // The same key for another request is refused; keys are per tenant.
    let other = post(&app, &mapping("different"), &t.token, Some(&key)).await;
    assert_eq!(other.status(), 422);
    let other: Value = other.json().await.unwrap();
    assert_eq!(other["errors"][0]["extensions"]["code"], "CONFLICT");
    let u = app.sign_up().await;
    assert_eq!(
        post(&app, &mapping("once"), &u.token, Some(&key))
            .await
            .status(),
        200
    );
    // Bad keys are named.
    assert_eq!(
        post(&app, &mapping("x"), &t.token, Some(&"k".repeat(300)))
            .await
            .status(),
        400
    );

    // Concurrent duplicates: one runs; the others get its response or a CONFLICT.
    let key = format!("race-{}", uuid::Uuid::now_v7());
    let raced = mapping("raced");
    let tries = (0..6).map(|_| post(&app, &raced, &t.token, Some(&key)));
    let results = futures_util::future::join_all(tries).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200));
    assert_eq!(mapping_count(&app, &t.token).await, 2, "once + raced");
}

#[tokio::test]
async fn responses_carry_security_headers_and_cors_follows_the_configured_origins() {
    let app =
        spawn_app_with(|s| s.server.cors_origins = vec!["https://app.example.com".into()]).await;
    for path in ["/health", "/graphql"] {
        let resp = app
            .client
            .get(format!("{}{path}", app.address))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
    }
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, idempotency-key",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let other = preflight("https://evil.example.net").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn aliases_are_bounded_and_slow_requests_stop_and_roll_back() {
    let app = spawn_app_with(|s| {
        s.graphql.max_aliases = 5;
        s.graphql.timeout_secs = 1;
    })
    .await;
    let t = app.sign_up().await;
    let many: String = (0..6).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let body = app
        .gql(&format!("{{ {many} }}"), json!({}), Some(&t.token))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    let five: String = (0..5).map(|i| format!("a{i}: me {{ id }} ")).collect();
    app.ok(&format!("{{ {five} }}"), json!({}), Some(&t.token))
        .await;

    // Embedding 3,000 new names takes longer than a second: the request is stopped and
    // nothing it did stays.
    let fields: Vec<Value> = (0..3000)
        .map(|i| json!({ "name": format!("slow field number {i} of the timeout test") }))
        .collect();
    let body = app
        .gql(
            "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { status } } }",
            json!({ "i": { "sourceSystem": "limits", "sourceEntity": "slow", "fields": fields } }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TIMEOUT",
        "{body:#}"
    );
    assert_eq!(mapping_count(&app, &t.token).await, 0);
    let queue = app
        .ok(
            "{ reviewQueue(first: 1) { totalCount } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    assert_eq!(queue["reviewQueue"]["totalCount"], 0);
}

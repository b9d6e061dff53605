use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn mutations_write_who_what_and_from_where() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&t.token)
        .header("traceparent", traceparent)
        .header("user-agent", "audit-test/1.0")
        .json(&json!({
            "query": "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }",
            "variables": { "i": { "name": "audited", "kind": "POSTGRES",
                "config": { "host": "db.internal", "database": "crm", "user": "reader", "password": "hunter2hunter2" } } }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["x-trace-id"],
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    let connector = body["data"]["createConnector"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        "mutation($id: ID!) { updateConnector(id: $id, input: { name: \"renamed\", status: PAUSED }) { id } }",
        json!({ "id": connector }),
        Some(&t.token),
    )
    .await;
    let mapping = app
        .create_mapping(&t.token, "annualrevenue", "account", "annual_revenue")
        .await;
    app.ok(
        "mutation($id: ID!) { approveMapping(id: $id) { id } }",
        json!({ "id": mapping }),
        Some(&t.token),
    )
    .await;

    let log = app
        .ok(
            "{ auditLog(first: 50) { totalCount edges { node { actorKind actorId action targetType targetId oldValue newValue traceId ip userAgent } } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    let entries: Vec<_> = log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    let actions: Vec<_> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first.
    assert_eq!(
        actions,
        [
            "mapping.approve",
            "mapping.create",
            "connector.update",
            "connector.create",
            "tenant.sign_up"
        ]
    );
    for e in &entries {
        assert_eq!(e["actorKind"], "USER");
        assert_eq!(e["actorId"], t.user_id.as_str());
    }
    let create = entries
        .iter()
        .find(|e| e["action"] == "connector.create")
        .unwrap();
    assert_eq!(create["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(create["userAgent"], "audit-test/1.0");
    assert_eq!(create["ip"], "127.0.0.1");
    assert_eq!(create["targetId"], connector.as_str());
    assert_eq!(
        create["newValue"]["config"]["password"], "********",
        "secrets never reach the audit log"
    );
    let update = entries
        .iter()
        .find(|e| e["action"] == "connector.update")
        .unwrap();
    assert_eq!(update["oldValue"]["name"], "audited");
    assert_eq!(update["newValue"]["name"], "renamed");
    assert_eq!(update["newValue"]["status"], "PAUSED");
    let approve = &entries[0];
    assert_eq!(
        approve["oldValue"]["activeVersion"],
        serde_json::Value::Null
    );
    assert_eq!(approve["newValue"]["activeVersion"], 1);
    assert!(!log.to_string().contains("hunter2hunter2"));
}

#[tokio::test]
async fn failed_logins_are_audited_in_the_users_tenant() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let body = app
        .gql(
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            json!({ "i": { "email": t.email, "password": "definitely wrong password" } }),
            None,
        )
        .await;
    assert!(body["errors"].is_array());
    let log = app
        .ok("{ auditLog(filter: { action: \"auth.login_failed\" }) { totalCount edges { node { targetId } } } }", json!({}), Some(&t.token))
        .await;
    assert_eq!(log["auditLog"]["totalCount"], 1);
    assert_eq!(
        log["auditLog"]["edges"][0]["node"]["targetId"],
        t.user_id.as_str()
    );
}

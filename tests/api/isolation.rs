//! Tenant B, holding valid credentials of its own, must not see or touch tenant A's rows.
use serde_json::json;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn by_id_queries_and_mutations_do_not_cross_tenants() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    let connector = app.create_csv_connector(&a.token, "a-private").await;
    let mapping = app
        .create_mapping(&a.token, "annualrevenue", "account", "annual_revenue")
        .await;
    let key = app
        .ok(
            "mutation { createApiKey(input: { name: \"a-key\", role: VIEWER }) { apiKey { id } } }",
            json!({}),
            Some(&a.token),
        )
        .await["createApiKey"]["apiKey"]["id"]
        .clone();

    let attempts = [
        ("query($id: ID!) { connector(id: $id) { id } }", json!({ "id": connector })),
        ("query($id: ID!) { mapping(id: $id) { id } }", json!({ "id": mapping })),
        ("query($id: ID!) { user(id: $id) { id } }", json!({ "id": a.user_id })),
        ("mutation($id: ID!) { updateConnector(id: $id, input: { name: \"stolen\" }) { id } }", json!({ "id": connector })),
        ("mutation($id: ID!) { deleteConnector(id: $id) { id } }", json!({ "id": connector })),
        ("mutation($id: ID!) { approveMapping(id: $id) { id } }", json!({ "id": mapping })),
        ("mutation($id: ID!) { rollbackMapping(id: $id, toVersion: 1) { id } }", json!({ "id": mapping })),
        (
            "mutation($id: ID!) { updateMapping(id: $id, input: { canonicalEntity: \"account\", canonicalField: \"name\" }) { id } }",
            json!({ "id": mapping }),
        ),
        ("mutation($id: ID!) { changeUserRole(userId: $id, role: VIEWER) { id } }", json!({ "id": a.user_id })),
        ("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", json!({ "id": key })),
    ];
    for (query, vars) in attempts {
        let body = app.gql(query, vars, Some(&b.token)).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body:#}");
    }
    // And A's rows are untouched.
    let still = app
        .ok(
            "query($id: ID!) { connector(id: $id) { name } }",
            json!({ "id": connector }),
            Some(&a.token),
        )
        .await;
    assert_eq!(still["connector"]["name"], "a-private");
}

#[tokio::test]
async fn lists_only_show_the_callers_tenant() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    app.create_csv_connector(&a.token, "only-a").await;
    app.create_mapping(&a.token, "industry", "account", "industry")
        .await;
    app.ok(
        "mutation { createApiKey(input: { name: \"a\", role: VIEWER }) { secret } }",
        json!({}),
        Some(&a.token),
    )
    .await;
    let query = "{ tenant { id } users { totalCount edges { node { email } } } connectors { totalCount }
                   mappings { totalCount } apiKeys { totalCount } auditLog { totalCount edges { node { action } } } }";
    let seen_by_b = app.ok(query, json!({}), Some(&b.token)).await;
    assert_eq!(seen_by_b["tenant"]["id"], b.tenant_id.as_str());
    assert_eq!(seen_by_b["users"]["totalCount"], 1);
    assert_eq!(
        seen_by_b["users"]["edges"][0]["node"]["email"],
        b.email.as_str()
    );
    assert_eq!(seen_by_b["connectors"]["totalCount"], 0);
    assert_eq!(seen_by_b["mappings"]["totalCount"], 0);
    assert_eq!(seen_by_b["apiKeys"]["totalCount"], 0);
    // B's audit log holds B's sign-up only.
    assert_eq!(seen_by_b["auditLog"]["totalCount"], 1);
    let seen_by_a = app.ok(query, json!({}), Some(&a.token)).await;
    assert_eq!(seen_by_a["connectors"]["totalCount"], 1);
    assert_eq!(seen_by_a["mappings"]["totalCount"], 1);
    assert_eq!(seen_by_a["apiKeys"]["totalCount"], 1);
}

#[tokio::test]
async fn each_tenant_gets_its_own_copy_of_the_canonical_model() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    let q = "{ ontology { id name version entities { name fields { name dataType } } } }";
    let oa = app.ok(q, json!({}), Some(&a.token)).await;
    let ob = app.ok(q, json!({}), Some(&b.token)).await;
    assert_ne!(oa["ontology"]["id"], ob["ontology"]["id"]);
    assert_eq!(oa["ontology"]["entities"], ob["ontology"]["entities"]);
    let entities: Vec<_> = oa["ontology"]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(entities, ["account", "contact", "opportunity", "lead"]);
    insta::assert_json_snapshot!(
        "crm_v1_account_fields",
        oa["ontology"]["entities"][0]["fields"]
    );
}

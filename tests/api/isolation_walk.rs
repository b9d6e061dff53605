//! Every query and mutation of the schema, run by tenant B with tenant A's ids: nothing of A's
//! comes back, nothing of A's changes. The schema is read by introspection, so an operation
//! added without a case here fails the walk.
use std::collections::BTreeSet;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp, TestTenant};

/// Operations not walked here, and why.
const ELSEWHERE: &[(&str, &str)] = &[
    ("signUp", "creates a tenant of its own"),
    ("login", "credentials only; tested in auth.rs"),
    ("acceptInvite", "an invite token only; tested in auth.rs"),
    (
        "flowEvents",
        "subscription; isolation tested in telemetry.rs",
    ),
    (
        "syncRunUpdated",
        "subscription; isolation with A's run id tested in telemetry.rs",
    ),
    (
        "proposalJobUpdated",
        "subscription; isolation with A's job id tested in proposal_jobs.rs",
    ),
    (
        "reviewQueueChanged",
        "subscription; isolation tested in telemetry.rs",
    ),
    (
        "unifiedRecordsChanged",
        "subscription; isolation tested in records.rs",
    ),
];

/// What A has, by kind: the ids B will try, and text only A's data holds.
struct Seeded {
    tenant: TestTenant,
    connector: String,
    mapping: String,
    api_key: String,
    run: String,
    review: String,
    record: String,
    source_field: String,
    unified: String,
    candidate: String,
    webhook: String,
    proposal_job: String,
    markers: Vec<String>,
}

const MARK: &str = "zyxwvu";

async fn seed(app: &TestApp) -> Seeded {
    let a = app.sign_up().await;
    let rel = format!("walk-{}", Uuid::now_v7().simple());
    let dir = app.files_of(&a).join(&rel);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("accounts.csv"),
        // Two rows alike by name alone: a pair for the match review queue.
        format!("id,Account Name,Website,Qq {MARK} Flux\n1,{MARK} Holdings,{MARK}.test,7\n2,{MARK} Holdings,,8\n"),
    )
    .unwrap();
    let name = format!("{MARK}-crm");
    let connector = app
        .create_connector(
            &a.token,
            &name,
            "CSV",
            json!({ "path": format!("{rel}/accounts.csv"), "idColumn": "id" }),
        )
        .await;
    let run = app.sync(&a.token, &connector).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        "mutation($c: ID!) { setSyncSchedule(connectorId: $c, schedule: { intervalSeconds: 3600 }) { enabled } }",
        json!({ "c": connector }),
        Some(&a.token),
    )
    .await;
    let mapping = app
        .ok(
            &format!("mutation {{ createMapping(input: {{sourceSystem: \"{MARK}-sys\", sourceEntity: \"e\", sourceField: \"{MARK}_f\", canonicalEntity: \"account\", canonicalField: \"name\"}}) {{ id }} }}"),
            json!({}),
            Some(&a.token),
        )
        .await["createMapping"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let proposals = app
        .ok(
            "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { reviewId } } }",
            json!({ "i": { "sourceSystem": format!("{MARK}-prop"), "sourceEntity": "things",
                           "fields": [{ "name": format!("{MARK} blorp") }, { "name": "cust ref code" }] } }),
            Some(&a.token),
        )
        .await;
    let review = proposals["proposeMappings"]["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|p| p["reviewId"].as_str())
        .expect("a proposal under review")
        .to_owned();
    let api_key = app
        .ok(
            &format!("mutation {{ createApiKey(input: {{ name: \"{MARK}-key\", role: VIEWER }}) {{ apiKey {{ id }} }} }}"),
            json!({}),
            Some(&a.token),
        )
        .await["createApiKey"]["apiKey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let record = app
        .ok(
            "query($c: ID!) { canonicalEvents(filter: { connectorId: $c }, first: 1) { edges { node { canonicalId } } } }",
            json!({ "c": connector }),
            Some(&a.token),
        )
        .await["canonicalEvents"]["edges"][0]["node"]["canonicalId"]
        .as_str()
        .unwrap()
        .to_owned();
    let tree = app
        .ok(
            "query($c: ID!) { lineageTree(connectorId: $c, depth: 3) { children { children { id kind } } } }",
            json!({ "c": connector }),
            Some(&a.token),
        )
        .await;
    let source_field = tree["lineageTree"]["children"][0]["children"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unified = app
        .ok(
            "{ records(entity: \"account\") { edges { node { id } } } }",
            json!({}),
            Some(&a.token),
        )
        .await["records"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("a unified record")
        .to_owned();
    let candidate = app
        .ok(
            "{ matchCandidates { edges { node { id } } } }",
            json!({}),
            Some(&a.token),
        )
        .await["matchCandidates"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("a pair in the match review queue")
        .to_owned();
    app.ok(
        "mutation($p: [String!]!) { setSurvivorshipRule(input: { entity: \"account\", rule: SOURCE_PRIORITY, sourcePriority: $p }) { rule } }",
        json!({ "p": [format!("{MARK}-crm")] }),
        Some(&a.token),
    )
    .await;
    let webhook = app
        .ok(
            "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }",
            json!({ "i": { "url": format!("http://127.0.0.1:9/{MARK}"), "eventTypes": ["SYNC_RUN_FAILED"],
                           "description": MARK } }),
            Some(&a.token),
        )
        .await["createWebhookEndpoint"]["endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let proposal_job = app
        .ok(
            "mutation($i: ProposeMappingsInput!) { startProposalJob(input: $i) { id } }",
            json!({ "i": { "sourceSystem": format!("{MARK}-bulk"), "sourceEntity": "things",
                           "fields": [{ "name": format!("{MARK} bulk field") }, { "name": "Email" }] } }),
            Some(&a.token),
        )
        .await["startProposalJob"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::proposal_jobs::job_finished(app, &a.token, &proposal_job).await;
    let markers = vec![
        MARK.to_owned(),
        a.tenant_id.clone(),
        a.user_id.clone(),
        a.email.clone(),
        connector.clone(),
        mapping.clone(),
        api_key.clone(),
        run.clone(),
        review.clone(),
        record.clone(),
        source_field.clone(),
        unified.clone(),
        candidate.clone(),
        webhook.clone(),
        proposal_job.clone(),
    ];
    Seeded {
        tenant: a,
        connector,
        mapping,
        api_key,
        run,
        review,
        record,
        source_field,
        unified,
        candidate,
        webhook,
        proposal_job,
        markers,
    }
}

/// Every operation, as B would send it with A's ids.
fn cases(a: &Seeded) -> Vec<(&'static str, String, Value)> {
    let c = &a.connector;
    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    vec![
        ("me", "{ me { id email } }".into(), json!({})),
        ("tenant", "{ tenant { id name } }".into(), json!({})),
        ("users", "{ users { edges { node { id email } } } }".into(), json!({})),
        ("user", "query($id: ID!) { user(id: $id) { id email } }".into(), json!({ "id": a.tenant.user_id })),
        ("apiKeys", "{ apiKeys { edges { node { id name } } } }".into(), json!({})),
        ("ontology", "{ ontology { entities { name } } }".into(), json!({})),
        ("connectors", "{ connectors(first: 100) { edges { node { id name config } } } }".into(), json!({})),
        ("connector", "query($id: ID!) { connector(id: $id) { id name } }".into(), json!({ "id": c })),
        ("mappings", "{ mappings(first: 100) { edges { node { id sourceSystem sourceField } } } }".into(), json!({})),
        ("mapping", "query($id: ID!) { mapping(id: $id) { id } }".into(), json!({ "id": a.mapping })),
        ("reviewQueue", "{ reviewQueue(first: 100) { edges { node { id sourceSystem sourceField samples } } } }".into(), json!({})),
        ("semanticSearch", "query($q: String!) { semanticSearch(query: $q, first: 50) { text sourceSystem sourceField mappingId } }".into(), json!({ "q": format!("{MARK} holdings account name") })),
        ("syncRun", "query($id: ID!) { syncRun(id: $id) { id status } }".into(), json!({ "id": a.run })),
        ("syncRuns", "query($c: ID) { syncRuns(connectorId: $c) { edges { node { id } } } }".into(), json!({ "c": c })),
        ("driftEvents", "query($c: ID!) { driftEvents(connectorId: $c) { edges { node { fieldName } } } }".into(), json!({ "c": c })),
        ("sourceSchemas", "query($c: ID!) { sourceSchemas(connectorId: $c) { sourceEntity fields { name } } }".into(), json!({ "c": c })),
        ("previewTransform", "query($c: ID!) { previewTransform(input: { connectorId: $c, sourceEntity: \"accounts\", sourceField: \"Account Name\", canonicalEntity: \"account\", canonicalField: \"name\" }) { before after error } }".into(), json!({ "c": c })),
        ("canonicalRecord", "query($id: ID!) { canonicalRecord(entity: \"account\", id: $id) { fields { name value } } }".into(), json!({ "id": a.record })),
        ("canonicalEvents", "query($c: ID) { canonicalEvents(filter: { connectorId: $c }) { edges { node { id data } } } }".into(), json!({ "c": c })),
        ("lineageGrid", "query($s: String) { lineageGrid(search: $s, first: 100) { totalCount edges { node { id sourceSystem sourceField } } } }".into(), json!({ "s": MARK })),
        ("lineageTree", "query($c: ID!) { lineageTree(connectorId: $c) { id name children { name } } }".into(), json!({ "c": c })),
        ("lineageGraph", "query($r: String!) { lineageGraph(rootId: $r) { nodes { id name } } }".into(), json!({ "r": format!("connector:{c}") })),
        ("lineageImpact", "query($f: String!) { lineageImpact(sourceFieldId: $f) { canonicalFields records } }".into(), json!({ "f": a.source_field })),
        ("mappingMetrics", "query($c: ID, $from: DateTime!, $to: DateTime!) { mappingMetrics(connectorId: $c, from: $from, to: $to) { coverage { sourceFields sourceFieldsMapped } } }".into(), json!({ "c": c, "from": now - day, "to": now + day })),
        ("auditLog", "{ auditLog(first: 100) { edges { node { action targetId newValue actorId } } } }".into(), json!({})),
        ("flowEventsSnapshot", "{ flowEventsSnapshot(first: 200) { tenantId entityId message data } }".into(), json!({})),
        ("usage", "{ usage { connectors { used } eventsThisHour { used } } }".into(), json!({})),
        ("inviteUser", "mutation($e: String!) { inviteUser(input: { email: $e, role: VIEWER }) { user { id } } }".into(), json!({ "e": a.tenant.email })),
        ("changeUserRole", "mutation($id: ID!) { changeUserRole(userId: $id, role: VIEWER) { id } }".into(), json!({ "id": a.tenant.user_id })),
        ("revokeSessions", "mutation($id: ID!) { revokeSessions(userId: $id) { id } }".into(), json!({ "id": a.tenant.user_id })),
        ("disableUser", "mutation($id: ID!) { disableUser(id: $id) { id } }".into(), json!({ "id": a.tenant.user_id })),
        ("enableUser", "mutation($id: ID!) { enableUser(id: $id) { id } }".into(), json!({ "id": a.tenant.user_id })),
        ("removeUser", "mutation($id: ID!) { removeUser(id: $id) { id } }".into(), json!({ "id": a.tenant.user_id })),
        // Only ever the caller's own password; a wrong current one changes nothing.
        ("changePassword", "mutation($p: String!) { changePassword(input: { currentPassword: $p, newPassword: \"another long passphrase\" }) { token } }".into(), json!({ "p": "not the password at all" })),
        ("createApiKey", "mutation { createApiKey(input: { name: \"b-key\", role: VIEWER }) { apiKey { id } } }".into(), json!({})),
        ("revokeApiKey", "mutation($id: ID!) { revokeApiKey(id: $id) { id } }".into(), json!({ "id": a.api_key })),
        ("createConnector", "mutation { createConnector(input: { name: \"b-crm\", kind: CSV, config: { path: \"x.csv\" } }) { id } }".into(), json!({})),
        ("updateConnector", "mutation($id: ID!) { updateConnector(id: $id, input: { name: \"stolen\" }) { id } }".into(), json!({ "id": c })),
        ("deleteConnector", "mutation($id: ID!) { deleteConnector(id: $id) { id } }".into(), json!({ "id": c })),
        ("createMapping", "mutation { createMapping(input: {sourceSystem: \"b-sys\", sourceEntity: \"e\", sourceField: \"b_f\", canonicalEntity: \"account\", canonicalField: \"name\"}) { id version } }".into(), json!({})),
        ("updateMapping", "mutation($id: ID!) { updateMapping(id: $id, input: { canonicalEntity: \"account\", canonicalField: \"industry\" }) { id } }".into(), json!({ "id": a.mapping })),
        ("approveMapping", "mutation($id: ID!) { approveMapping(id: $id) { id } }".into(), json!({ "id": a.mapping })),
        ("rollbackMapping", "mutation($id: ID!) { rollbackMapping(id: $id, toVersion: 1) { id } }".into(), json!({ "id": a.mapping })),
        ("proposeMappings", "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { canonicalField method reason alternatives { canonicalField } } } }".into(),
            // Named like A's field: A's learning must not answer for B.
            json!({ "i": { "sourceSystem": "b-prop", "sourceEntity": "accounts", "fields": [{ "name": "Qq Flux" }] } })),
        ("approveProposal", "mutation($id: ID!) { approveProposal(id: $id) { id } }".into(), json!({ "id": a.review })),
        ("editProposal", "mutation($id: ID!) { editProposal(id: $id, canonicalEntity: \"account\", canonicalField: \"name\") { id } }".into(), json!({ "id": a.review })),
        ("rejectProposal", "mutation($id: ID!) { rejectProposal(id: $id) { id } }".into(), json!({ "id": a.review })),
        ("syncConnector", "mutation($id: ID!) { syncConnector(id: $id) { id } }".into(), json!({ "id": c })),
        ("testConnection", "mutation($id: ID!) { testConnection(id: $id) { ok message } }".into(), json!({ "id": c })),
        ("setSyncSchedule", "mutation($c: ID!) { setSyncSchedule(connectorId: $c, schedule: { intervalSeconds: 60 }) { nextRunAt } }".into(), json!({ "c": c })),
        ("removeSyncSchedule", "mutation($c: ID!) { removeSyncSchedule(connectorId: $c) }".into(), json!({ "c": c })),
        ("schemaObserver", "query($c: ID!) { schemaObserver(connectorId: $c) { driftPolicy heldSince } }".into(), json!({ "c": c })),
        ("setDriftPolicy", "mutation($c: ID!) { setDriftPolicy(connectorId: $c, policy: IGNORE) { driftPolicy } }".into(), json!({ "c": c })),
        ("checkSchema", "mutation($c: ID!) { checkSchema(connectorId: $c) { changes } }".into(), json!({ "c": c })),
        ("acknowledgeDrift", "mutation($c: ID!) { acknowledgeDrift(connectorId: $c) { heldSince } }".into(), json!({ "c": c })),
        ("webhookEndpoints", "{ webhookEndpoints { id url description } }".into(), json!({})),
        ("webhookEndpoint", "query($id: ID!) { webhookEndpoint(id: $id) { id url } }".into(), json!({ "id": a.webhook })),
        ("webhookDeliveries", "query($id: ID!) { webhookDeliveries(endpointId: $id) { totalCount edges { node { payload } } } }".into(), json!({ "id": a.webhook })),
        ("createWebhookEndpoint", "mutation { createWebhookEndpoint(input: { url: \"http://127.0.0.1:9/b\", eventTypes: [SYNC_RUN_FAILED] }) { endpoint { id } } }".into(), json!({})),
        ("updateWebhookEndpoint", "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { id } }".into(), json!({ "id": a.webhook })),
        ("rotateWebhookSecret", "mutation($id: ID!) { rotateWebhookSecret(id: $id) }".into(), json!({ "id": a.webhook })),
        ("sendTestWebhook", "mutation($id: ID!) { sendTestWebhook(id: $id) { id payload } }".into(), json!({ "id": a.webhook })),
        ("deleteWebhookEndpoint", "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }".into(), json!({ "id": a.webhook })),
        ("proposalJob", "query($id: ID!) { proposalJob(id: $id) { id sourceSystem proposals { edges { node { sourceField } } } } }".into(), json!({ "id": a.proposal_job })),
        ("startProposalJob", "mutation($i: ProposeMappingsInput!) { startProposalJob(input: $i) { id sourceSystem } }".into(),
            json!({ "i": { "sourceSystem": "b-bulk", "sourceEntity": "things", "fields": [{ "name": "Qq Flux" }] } })),
        ("cancelProposalJob", "mutation($id: ID!) { cancelProposalJob(id: $id) { id status } }".into(), json!({ "id": a.proposal_job })),
        ("cancelSyncRun", "mutation($id: ID!) { cancelSyncRun(id: $id) { id } }".into(), json!({ "id": a.run })),
        ("exportLineage", "mutation { exportLineage(format: CSV) { url rows } }".into(), json!({})),
        ("startFlowDemo", "mutation { startFlowDemo(rate: 5, seconds: 1) { events } }".into(), json!({})),
        ("records", "query($s: String) { records(entity: \"account\", search: $s) { totalCount edges { node { id data values { provenance { sourceSystem connectorId } } } } } }".into(), json!({ "s": MARK })),
        ("record", "query($id: ID!) { record(entity: \"account\", id: $id) { id data members { sourceRecordId data } related { id } history { edges { node { detail } } } } }".into(), json!({ "id": a.unified })),
        ("matchCandidates", "{ matchCandidates(status: ALL) { totalCount edges { node { id evidence records { data sourceSystem } } } } }".into(), json!({})),
        ("recordAggregates", "{ recordAggregates(entity: \"account\", groupBy: [\"name\"], measures: [{ op: COUNT }]) { groups { keys values } } }".into(), json!({})),
        ("survivorshipRules", "{ survivorshipRules(entity: \"account\") { rule sourcePriority } }".into(), json!({})),
        ("matchModel", "{ matchModel(entity: \"account\") { pairs levels { field m u } } }".into(), json!({})),
        ("decideMatch", "mutation($id: ID!) { decideMatch(id: $id, decision: LINK) { id status } }".into(), json!({ "id": a.candidate })),
        ("mergeRecords", "mutation($ids: [ID!]!) { mergeRecords(entity: \"account\", ids: $ids) { id } }".into(), json!({ "ids": [a.unified, Uuid::now_v7().to_string()] })),
        ("splitRecord", "mutation($id: ID!, $m: ID!) { splitRecord(entity: \"account\", id: $id, members: [$m]) { id } }".into(), json!({ "id": a.unified, "m": a.record })),
        ("unlinkRecord", "mutation($c: ID!) { unlinkRecord(entity: \"account\", canonicalId: $c) { id } }".into(), json!({ "c": a.record })),
        ("setSurvivorshipRule", "mutation { setSurvivorshipRule(input: { entity: \"account\", rule: MOST_RECENT }) { rule sourcePriority } }".into(), json!({})),
    ]
}

async fn operations(app: &TestApp, token: &str) -> BTreeSet<String> {
    let schema = app
        .ok(
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
            json!({}),
            Some(token),
        )
        .await;
    ["queryType", "mutationType", "subscriptionType"]
        .iter()
        .flat_map(|t| schema["__schema"][t]["fields"].as_array().unwrap().clone())
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_operation_run_with_another_tenants_ids_shows_and_changes_nothing_of_it() {
    let app = spawn_app().await;
    let a = seed(&app).await;
    let b = app.sign_up().await;
    // B has data of its own, so empty answers are not the only way to pass.
    app.create_csv_connector(&b.token, "b-own").await;

    let cases = cases(&a);
    let walked: BTreeSet<String> = cases
        .iter()
        .map(|c| c.0.to_owned())
        .chain(ELSEWHERE.iter().map(|e| e.0.to_owned()))
        .collect();
    let schema = operations(&app, &b.token).await;
    let missing: Vec<&String> = schema.difference(&walked).collect();
    assert!(
        missing.is_empty(),
        "operations without an isolation case: {missing:?}"
    );
    let stale: Vec<&String> = walked.difference(&schema).collect();
    assert!(
        stale.is_empty(),
        "cases for operations the schema no longer has: {stale:?}"
    );

    for (name, query, vars) in &cases {
        let body = app.gql(query, vars.clone(), Some(&b.token)).await;
        // B may see ids it sent echoed in an error message, never in data.
        let sent = vars.to_string();
        let data = body["data"].to_string();
        let all = body.to_string();
        for marker in &a.markers {
            assert!(
                !data.contains(marker.as_str()),
                "{name}: A's {marker} in data: {body:#}"
            );
            if !sent.contains(marker.as_str()) && !query.contains(marker.as_str()) {
                assert!(
                    !all.contains(marker.as_str()),
                    "{name}: A's {marker} in {body:#}"
                );
            }
        }
        if name.starts_with("exportLineage") {
            let url = body["data"]["exportLineage"]["url"].as_str().unwrap();
            let file = app
                .client
                .get(format!("{}{url}", app.address))
                .send()
                .await
                .unwrap();
            let text = file.text().await.unwrap();
            assert!(
                text.contains("b-sys"),
                "B's export holds B's mapping: {text}"
            );
            assert!(!text.contains(MARK), "A's data in B's export");
        }
        let by_id = vars.as_object().is_some_and(|v| {
            v.values().any(|id| {
                a.markers[1..]
                    .iter()
                    .any(|m| id.as_str() == Some(m.as_str()))
            })
        });
        if by_id && *name != "inviteUser" {
            let code = body["errors"][0]["extensions"]["code"].as_str();
            assert!(
                matches!(code, Some("NOT_FOUND")) || body["data"].is_null() || empty(&body["data"]),
                "{name} with A's id: {body:#}"
            );
        }
    }

    // A's data is as A left it.
    let after = app
        .ok(
            "query($c: ID!, $m: ID!) { connector(id: $c) { name schedule { intervalSeconds } } mapping(id: $m) { version status }
               schemaObserver(connectorId: $c) { driftPolicy }
               users { edges { node { role } } } apiKeys { edges { node { revokedAt } } }
               reviewQueue(status: PENDING, first: 100) { edges { node { id } } } syncRuns(connectorId: $c) { totalCount } }",
            json!({ "c": a.connector, "m": a.mapping }),
            Some(&a.tenant.token),
        )
        .await;
    assert_eq!(after["connector"]["name"], format!("{MARK}-crm"));
    assert_eq!(
        after["connector"]["schedule"]["intervalSeconds"], 3600,
        "B could not change or remove A's schedule"
    );
    assert_eq!(after["schemaObserver"]["driftPolicy"], "PROPAGATE");
    let hooks = app
        .ok(
            "{ webhookEndpoints { id enabled } }",
            json!({}),
            Some(&a.tenant.token),
        )
        .await;
    assert_eq!(
        hooks["webhookEndpoints"],
        json!([{ "id": a.webhook, "enabled": true }]),
        "B could not change or remove A's webhook endpoint"
    );
    let job = crate::proposal_jobs::job(&app, &a.tenant.token, &a.proposal_job).await;
    assert_eq!(
        job["status"], "SUCCEEDED",
        "B could not change A's proposal job: {job:#}"
    );
    assert_eq!(after["mapping"]["version"], 1);
    assert_eq!(after["mapping"]["status"], "PENDING");
    assert_eq!(after["users"]["edges"][0]["node"]["role"], "ADMIN");
    assert!(after["apiKeys"]["edges"][0]["node"]["revokedAt"].is_null());
    assert!(after["reviewQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"]["id"] == a.review.as_str()));
    assert_eq!(
        after["syncRuns"]["totalCount"], 1,
        "B could not start A's sync"
    );
    let records = app
        .ok(
            "{ records(entity: \"account\") { totalCount } matchCandidates { totalCount }
               survivorshipRules(entity: \"account\") { rule } }",
            json!({}),
            Some(&a.tenant.token),
        )
        .await;
    assert_eq!(
        records["matchCandidates"]["totalCount"], 1,
        "A's pair still waits: {records:#}"
    );
    assert_eq!(
        records["survivorshipRules"][0]["rule"], "SOURCE_PRIORITY",
        "{records:#}"
    );
}

/// Data with no entries: empty lists, zero counts, nulls.
fn empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(_) | Value::String(_) => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.values().all(empty),
    }
}

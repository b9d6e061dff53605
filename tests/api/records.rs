//! Unified records on the real stack: two CRMs' accounts and contacts synced through the
//! pipeline, linked by keys and by Fellegi–Sunter scores, golden values with provenance and
//! alternatives, references across sources, the review band and people's decisions surviving
//! later syncs, merge / split / unlink, survivorship rules, the records query and the live feed.
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app_with, TestApp, TestTenant};
use crate::telemetry::{Got, Ws};

const CRM_ACCOUNTS: &str = "Id,Name,Website,Phone,City\n\
A1,\"Acme, Inc.\",https://www.acme.com,(415) 555-0100,San Francisco\n\
A2,Globex Corporation,globex.com,212-555-0199,New York\n\
A3,Initech,,512-555-0123,Austin\n";

const HUB_COMPANIES: &str = "id,company,domain,phone,city\n\
H1,ACME Incorporated,acme.com,+1 415 555 0100,san francisco\n\
H2,Initech LLC,,512.555.0123,Austin\n\
H3,Globex Corp,,,\n";

const CRM_CONTACTS: &str = "Id,First,Last,Email,AccountId\n\
C1,Ada,Lovelace,ada@acme.com,A1\n\
C2,Grace,Hopper,grace@globex.com,A2\n";

const HUB_CONTACTS: &str = "id,firstname,lastname,email,company_id\n\
K1,Ada,Lovelace,ADA@acme.com,H1\n";

pub(crate) struct Crm {
    pub app: TestApp,
    pub t: TestTenant,
    pub rel: String,
    pub connectors: Vec<(String, String)>,
}

impl Crm {
    pub fn token(&self) -> Option<&str> {
        Some(self.t.token.as_str())
    }

    pub async fn q(&self, query: &str, variables: Value) -> Value {
        self.app.ok(query, variables, self.token()).await
    }

    pub fn connector(&self, name: &str) -> &str {
        &self.connectors.iter().find(|c| c.0 == name).unwrap().1
    }

    pub fn write(&self, file: &str, body: &str) {
        std::fs::write(self.app.files_of(&self.t).join(&self.rel).join(file), body).unwrap();
    }

    pub async fn sync(&self, name: &str) -> Value {
        let run = self.app.sync(&self.t.token, self.connector(name)).await;
        assert!(
            run["status"] == "SUCCEEDED" || run["status"] == "PARTIAL",
            "{run:#}"
        );
        run
    }
}

/// A connector: name, file, content, canonical entity, (source field, canonical field).
pub(crate) type Source = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

impl Crm {
    /// A tenant of its own whose proposals never apply themselves: the mappings are the test's.
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// The same, on an app with some settings changed.
    pub async fn with(change: impl FnOnce(&mut autonomos::config::Settings)) -> Self {
        let app = spawn_app_with(|s| {
            s.proposals.auto_apply_threshold = 1.0;
            s.proposals.review_threshold = 0.99;
            change(s);
        })
        .await;
        let t = app.sign_up().await;
        let rel = format!("rec-{}", uuid::Uuid::now_v7().simple());
        std::fs::create_dir_all(app.files_of(&t).join(&rel)).unwrap();
        Self {
            app,
            t,
            rel,
            connectors: Vec::new(),
        }
    }

    /// A CSV connector for the file, its fields mapped (and approved) by hand.
    pub async fn add(&mut self, (name, file, body, entity, fields): Source) {
        self.write(file, body);
        let source_entity = file.trim_end_matches(".csv");
        let id_column = if body.starts_with("Id") { "Id" } else { "id" };
        let connector = self
            .app
            .create_connector(
                &self.t.token,
                name,
                "CSV",
                json!({ "path": format!("{}/{file}", self.rel), "entity": source_entity, "idColumn": id_column }),
            )
            .await;
        for (source, field) in fields {
            let id = self
                .q(
                    "mutation($i: CreateMappingInput!) { createMapping(input: $i) { id } }",
                    json!({ "i": { "connectorId": connector, "sourceEntity": source_entity, "sourceField": source,
                                   "canonicalEntity": entity, "canonicalField": field } }),
                )
                .await["createMapping"]["id"]
                .clone();
            self.q(
                "mutation($id: ID!) { approveMapping(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        }
        self.connectors.push((name.to_owned(), connector));
    }
}

/// Four CSV connectors (two CRMs × accounts, contacts), mapped by hand and synced.
pub(crate) async fn two_crms() -> Crm {
    let mut crm = Crm::new().await;
    for source in sources() {
        crm.add(source).await;
    }
    for (name, _) in crm.connectors.clone() {
        crm.sync(&name).await;
    }
    crm
}

/// The two CRMs' connectors: accounts, companies, contacts of each.
pub(crate) fn sources() -> [Source; 4] {
    [
        (
            "crm-accounts",
            "accounts.csv",
            CRM_ACCOUNTS,
            "account",
            &[
                ("Name", "name"),
                ("Website", "website"),
                ("Phone", "phone"),
                ("City", "billing_city"),
                ("Id", "account_id"),
            ],
        ),
        (
            "hub-companies",
            "companies.csv",
            HUB_COMPANIES,
            "account",
            &[
                ("company", "name"),
                ("domain", "website"),
                ("phone", "phone"),
                ("city", "billing_city"),
                ("id", "account_id"),
            ],
        ),
        (
            "crm-contacts",
            "contacts.csv",
            CRM_CONTACTS,
            "contact",
            &[
                ("First", "first_name"),
                ("Last", "last_name"),
                ("Email", "email"),
                ("AccountId", "account_id"),
            ],
        ),
        (
            "hub-contacts",
            "hcontacts.csv",
            HUB_CONTACTS,
            "contact",
            &[
                ("firstname", "first_name"),
                ("lastname", "last_name"),
                ("email", "email"),
                ("company_id", "account_id"),
            ],
        ),
    ]
}

const RECORDS: &str =
    "query($e: String!, $f: RecordFilter, $s: String, $o: RecordSort, $n: Int, $a: String) {
    records(entity: $e, filter: $f, search: $s, sort: $o, first: $n, after: $a) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id memberCount data } } } }";

const RECORD: &str = "query($e: String!, $id: ID!) { record(entity: $e, id: $id) {
    id memberCount version data
    values { field value provenance { canonicalRecordId connectorId sourceSystem sourceRecordId sourceField
             mappingId mappingVersion transformed rule }
             alternatives { value provenance { sourceSystem sourceField } } }
    members { canonicalId sourceSystem sourceRecordId linkRule linkScore linkEvidence linkedBy }
    related { field entity id incoming }
    history(first: 50) { edges { node { kind actor detail } } } } }";

pub(crate) async fn records(crm: &Crm, entity: &str, vars: Value) -> Value {
    let mut v = json!({ "e": entity });
    for (k, x) in vars.as_object().unwrap() {
        v[k] = x.clone();
    }
    crm.q(RECORDS, v).await["records"].clone()
}

pub(crate) fn nodes(page: &Value) -> Vec<Value> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// The unified record whose golden values contain this word.
pub(crate) async fn find(crm: &Crm, entity: &str, word: &str) -> Value {
    let page = records(crm, entity, json!({ "s": word })).await;
    let found = nodes(&page);
    assert_eq!(found.len(), 1, "one {entity} for {word:?}: {page:#}");
    let id = found[0]["id"].clone();
    crm.q(RECORD, json!({ "e": entity, "id": id })).await["record"].clone()
}

fn value<'a>(record: &'a Value, field: &str) -> &'a Value {
    record["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["field"] == field)
        .unwrap_or_else(|| panic!("no {field}: {record:#}"))
}

#[tokio::test]
async fn sources_unify_into_golden_records_with_provenance_and_references() {
    let crm = two_crms().await;
    // Acme by its website domain (a key), Initech by score (name, phone, city), Globex left
    // for review (a name alone), so 4 accounts of 6 source records.
    let accounts = records(&crm, "account", json!({})).await;
    assert_eq!(accounts["totalCount"], 4, "{accounts:#}");

    let acme = find(&crm, "account", "acme").await;
    assert_eq!(acme["memberCount"], 2, "{acme:#}");
    let rules: Vec<&str> = acme["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["linkRule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"KEY"), "{acme:#}");
    let name = value(&acme, "name");
    // MOST_RECENT by default: the hub record was synced last.
    assert_eq!(name["value"], "ACME Incorporated", "{acme:#}");
    let p = &name["provenance"];
    assert_eq!(p["sourceSystem"], "hub-companies");
    assert_eq!(p["sourceRecordId"], "H1");
    assert_eq!(p["sourceField"], "company");
    assert_eq!(p["mappingVersion"], 1);
    assert_eq!(p["rule"], "MOST_RECENT");
    assert_eq!(p["connectorId"], crm.connector("hub-companies"));
    assert_eq!(name["alternatives"][0]["value"], "Acme, Inc.");
    assert_eq!(name["alternatives"][0]["provenance"]["sourceField"], "Name");

    let initech = find(&crm, "account", "initech").await;
    assert_eq!(initech["memberCount"], 2, "{initech:#}");
    let scored = initech["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["linkRule"] == "SCORE")
        .unwrap();
    assert!(scored["linkScore"].as_f64().unwrap() >= 0.95, "{initech:#}");
    assert!(
        scored["linkEvidence"]["score"]["comparisons"]
            .as_array()
            .unwrap()
            .len()
            >= 3
    );

    // Ada is one contact (her email, whatever its case) whose account, from either source, is
    // the unified Acme; Acme sees her coming in.
    let ada = find(&crm, "contact", "lovelace").await;
    assert_eq!(ada["memberCount"], 2, "{ada:#}");
    // Every part of a value is a word to search by: the domain of an email finds its contact.
    let grace = find(&crm, "contact", "globex").await;
    assert_eq!(grace["data"]["last_name"], "Hopper", "{grace:#}");
    assert_eq!(
        ada["related"],
        json!([{ "field": "account_id", "entity": "account", "id": acme["id"], "incoming": false }])
    );
    let acme = crm
        .q(RECORD, json!({ "e": "account", "id": acme["id"] }))
        .await["record"]
        .clone();
    assert!(
        acme["related"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == ada["id"] && r["incoming"] == true),
        "{acme:#}"
    );
    let kinds: Vec<&str> = acme["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"CREATED") && kinds.contains(&"LINKED"),
        "{kinds:?}"
    );

    // The review band: Globex waits for a person with the evidence.
    let queue = crm.q(
        "{ matchCandidates(entity: \"account\") { totalCount edges { node { id score status evidence records { sourceRecordId } } } } }",
        json!({}),
    ).await["matchCandidates"].clone();
    assert_eq!(queue["totalCount"], 1, "{queue:#}");
    let pair = &queue["edges"][0]["node"];
    let score = pair["score"].as_f64().unwrap();
    assert!((0.6..0.95).contains(&score), "{pair:#}");
    let mut ids: Vec<&str> = pair["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sourceRecordId"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["A2", "H3"]);
}

#[tokio::test]
async fn the_records_query_filters_sorts_searches_and_pages() {
    let crm = two_crms().await;
    let austin = records(
        &crm,
        "account",
        json!({ "f": { "field": "billing_city", "op": "EQ", "value": "Austin" } }),
    )
    .await;
    assert_eq!(austin["totalCount"], 1, "{austin:#}");
    let either = records(
        &crm,
        "account",
        json!({ "f": { "or": [
        { "field": "name", "op": "STARTS_WITH", "value": "acme" },
        { "not": { "field": "website", "op": "IS_NOT_NULL" } } ] } }),
    )
    .await;
    // Acme, Initech (no website anywhere) and the lone Globex Corp.
    assert_eq!(either["totalCount"], 3, "{either:#}");

    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = records(
            &crm,
            "account",
            json!({ "o": { "field": "name", "direction": "DESC" }, "n": 3, "a": after }),
        )
        .await;
        names.extend(
            nodes(&page)
                .iter()
                .map(|n| n["data"]["name"].as_str().unwrap().to_owned()),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 4);

    for (vars, code, field) in [
        (
            json!({ "f": { "field": "nope", "op": "EQ", "value": 1 } }),
            "BAD_USER_INPUT",
            "filter.field",
        ),
        (
            json!({ "f": { "field": "employee_count", "op": "GT", "value": "many" } }),
            "BAD_USER_INPUT",
            "filter.value",
        ),
        (
            json!({ "o": { "field": "x'; --" } }),
            "BAD_USER_INPUT",
            "sort.field",
        ),
        (json!({ "a": "garbage" }), "BAD_USER_INPUT", "after"),
        (json!({ "n": 0 }), "BAD_USER_INPUT", "first"),
    ] {
        let mut v = json!({ "e": "account" });
        for (k, x) in vars.as_object().unwrap() {
            v[k] = x.clone();
        }
        let body = crm.app.gql(RECORDS, v, crm.token()).await;
        assert_eq!(error_code(&body), code, "{vars}: {body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["problems"][0]["field"], field,
            "{body:#}"
        );
    }
    let body = crm
        .app
        .gql(RECORDS, json!({ "e": "spaceship" }), crm.token())
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
}

const DECIDE: &str = "mutation($id: ID!, $d: MatchDecision!) { decideMatch(id: $id, decision: $d) { status decidedBy } }";

#[tokio::test]
async fn decisions_merges_and_splits_survive_later_syncs() {
    let crm = two_crms().await;
    let queue = crm
        .q(
            "{ matchCandidates(entity: \"account\") { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let pair = queue["matchCandidates"]["edges"][0]["node"]["id"].clone();
    let decided = crm.q(DECIDE, json!({ "id": pair, "d": "LINK" })).await["decideMatch"].clone();
    assert_eq!(decided["status"], "LINKED");
    assert!(decided["decidedBy"].as_str().unwrap().starts_with("USER:"));
    let body = crm
        .app
        .gql(
            DECIDE,
            json!({ "id": pair, "d": "KEEP_APART" }),
            crm.token(),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "decided once: {body:#}");
    assert_eq!(records(&crm, "account", json!({})).await["totalCount"], 3);

    // Globex Corp renamed at the source: its record is re-read, and still stays linked.
    crm.write(
        "companies.csv",
        &HUB_COMPANIES.replace("H3,Globex Corp,,,", "H3,Globex Holdings,,,"),
    );
    crm.sync("hub-companies").await;
    let globex = find(&crm, "account", "globex").await;
    assert_eq!(globex["memberCount"], 2, "{globex:#}");

    // Split Acme's HubSpot record off; a later sync that changes it does not put it back.
    let acme = find(&crm, "account", "acme").await;
    let hub = acme["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["sourceSystem"] == "hub-companies")
        .unwrap()
        .clone();
    let split = crm.q(
        "mutation($id: ID!, $m: [ID!]!) { splitRecord(entity: \"account\", id: $id, members: $m) { id memberCount } }",
        json!({ "id": acme["id"], "m": [hub["canonicalId"]] }),
    ).await["splitRecord"].clone();
    assert_eq!(split["memberCount"], 1);
    assert_eq!(records(&crm, "account", json!({})).await["totalCount"], 4);
    crm.write(
        "companies.csv",
        &HUB_COMPANIES.replace("+1 415 555 0100", "+1 415 555 0199"),
    );
    crm.sync("hub-companies").await;
    assert_eq!(
        records(&crm, "account", json!({})).await["totalCount"],
        4,
        "the split holds"
    );
    let rest = crm
        .q(RECORD, json!({ "e": "account", "id": acme["id"] }))
        .await["record"]
        .clone();
    assert_eq!(rest["memberCount"], 1, "{rest:#}");
    assert!(rest["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"]["kind"] == "SPLIT"));

    // Merged back by a person, the two are one again; unlink takes the CRM one out.
    let merged = crm.q(
        "mutation($ids: [ID!]!) { mergeRecords(entity: \"account\", ids: $ids) { id memberCount } }",
        json!({ "ids": [acme["id"], split["id"]] }),
    ).await["mergeRecords"].clone();
    assert_eq!(merged, json!({ "id": acme["id"], "memberCount": 2 }));
    assert_eq!(records(&crm, "account", json!({})).await["totalCount"], 3);
    let crm_member = acme["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["sourceSystem"] == "crm-accounts")
        .unwrap();
    let alone = crm.q(
        "mutation($c: ID!) { unlinkRecord(entity: \"account\", canonicalId: $c) { memberCount members { sourceRecordId linkRule linkedBy } } }",
        json!({ "c": crm_member["canonicalId"] }),
    ).await["unlinkRecord"].clone();
    assert_eq!(alone["members"][0]["sourceRecordId"], "A1", "{alone:#}");
    assert_eq!(alone["members"][0]["linkRule"], "MANUAL");
    assert_eq!(records(&crm, "account", json!({})).await["totalCount"], 4);

    // Every step is in the audit log.
    let audit = crm
        .q(
            "{ auditLog(first: 50) { edges { node { action } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    for a in ["match.decide", "record.split", "record.merge"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn a_pair_kept_apart_stays_apart() {
    let crm = two_crms().await;
    let queue = crm
        .q(
            "{ matchCandidates(entity: \"account\") { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let pair = queue["matchCandidates"]["edges"][0]["node"]["id"].clone();
    crm.q(DECIDE, json!({ "id": pair, "d": "KEEP_APART" }))
        .await;
    // Now H3 looks even more like Globex; the decision still holds.
    crm.write(
        "companies.csv",
        &HUB_COMPANIES.replace(
            "H3,Globex Corp,,,",
            "H3,Globex Corporation,,212-555-0199,New York",
        ),
    );
    crm.sync("hub-companies").await;
    assert_eq!(records(&crm, "account", json!({})).await["totalCount"], 4);
    let pending = crm
        .q(
            "{ matchCandidates(entity: \"account\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(pending["matchCandidates"]["totalCount"], 0, "{pending:#}");
}

#[tokio::test]
async fn survivorship_rules_choose_the_golden_values() {
    let crm = two_crms().await;
    let set = "mutation($i: SurvivorshipRuleInput!) { setSurvivorshipRule(input: $i) { field rule sourcePriority } }";
    let rules = crm.q(set, json!({ "i": { "entity": "account", "rule": "SOURCE_PRIORITY", "sourcePriority": ["crm-accounts"] } })).await;
    assert_eq!(rules["setSurvivorshipRule"][0]["rule"], "SOURCE_PRIORITY");
    let acme = find(&crm, "account", "acme").await;
    let name = value(&acme, "name");
    assert_eq!(name["value"], "Acme, Inc.", "{acme:#}");
    assert_eq!(name["provenance"]["rule"], "SOURCE_PRIORITY");
    assert_eq!(name["provenance"]["sourceSystem"], "crm-accounts");

    // A field's own rule beats the entity's.
    crm.q(
        set,
        json!({ "i": { "entity": "account", "field": "name", "rule": "MOST_RECENT" } }),
    )
    .await;
    let acme = find(&crm, "account", "acme").await;
    assert_eq!(value(&acme, "name")["value"], "ACME Incorporated");
    assert_eq!(
        value(&acme, "website")["provenance"]["rule"],
        "SOURCE_PRIORITY"
    );
    let listed = crm
        .q(
            "{ survivorshipRules(entity: \"account\") { field rule } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["survivorshipRules"],
        json!([{ "field": null, "rule": "SOURCE_PRIORITY" }, { "field": "name", "rule": "MOST_RECENT" }])
    );

    for (input, field) in [
        (
            json!({ "entity": "account", "rule": "SOURCE_PRIORITY" }),
            "sourcePriority",
        ),
        (
            json!({ "entity": "account", "field": "warp", "rule": "MOST_RECENT" }),
            "field",
        ),
        (
            json!({ "entity": "starship", "rule": "MOST_RECENT" }),
            "entity",
        ),
    ] {
        let body = crm.app.gql(set, json!({ "i": input }), crm.token()).await;
        assert_eq!(
            body["errors"][0]["extensions"]["problems"][0]["field"], field,
            "{body:#}"
        );
    }
    // Viewers read, only admins set rules.
    let viewer = crm.app.member(&crm.t, "VIEWER").await;
    let body = crm
        .app
        .gql(
            set,
            json!({ "i": { "entity": "account", "rule": "MOST_RECENT" } }),
            Some(&viewer),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn subscribers_see_unified_records_change() {
    let crm = two_crms().await;
    let sub = "subscription { unifiedRecordsChanged(entity: \"account\") { entity id change } }";
    let mut ws = Ws::connect(&crm.app.address, &crm.t.token).await;
    ws.subscribe("u", sub, json!({})).await;
    // Another tenant's subscriber hears nothing of it.
    let other = crm.app.sign_up().await;
    let mut theirs = Ws::connect(&crm.app.address, &other.token).await;
    theirs.subscribe("u", sub, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let acme = find(&crm, "account", "acme").await;
    let hub = acme["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["sourceSystem"] == "hub-companies")
        .unwrap()
        .clone();
    crm.q(
        "mutation($c: ID!) { unlinkRecord(entity: \"account\", canonicalId: $c) { id } }",
        json!({ "c": hub["canonicalId"] }),
    )
    .await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match ws.next(Duration::from_secs(15)).await {
            Some(Got::Next(id, payload)) if id == "u" => {
                seen.push(payload["data"]["unifiedRecordsChanged"].clone())
            }
            other => panic!("after {seen:?}: {other:?}"),
        }
    }
    assert!(
        seen.iter()
            .any(|c| c["id"] == acme["id"] && c["change"] == "SPLIT"),
        "{seen:?}"
    );
    assert!(seen.iter().any(|c| c["change"] == "CREATED"), "{seen:?}");
    theirs.silent(Duration::from_secs(1)).await;
}

const DEALS: &str = "id,Deal,Stage,Amount,Close\n\
D1,Alpha,Won,1000,2026-01-15\n\
D2,Beta,Won,500,2026-01-20\n\
D3,Gamma,Open,250,2026-02-03\n\
D4,Delta,Won,2000,2026-02-28\n\
D5,Epsilon,Open,,2026-02-10\n";

#[tokio::test]
async fn aggregates_group_by_field_and_month() {
    let mut crm = Crm::new().await;
    crm.add((
        "deals",
        "deals.csv",
        DEALS,
        "opportunity",
        &[
            ("Deal", "name"),
            ("Stage", "stage"),
            ("Amount", "amount"),
            ("Close", "close_date"),
        ],
    ))
    .await;
    crm.sync("deals").await;
    let agg = "query($f: RecordFilter, $m: [MeasureInput!]!, $g: [String!], $b: TimeBucketInput) {
        recordAggregates(entity: \"opportunity\", filter: $f, groupBy: $g, timeBucket: $b, measures: $m) {
          truncated groups { keys bucket values } } }";
    let measures = json!([{ "op": "SUM", "field": "amount" }, { "op": "COUNT" }, { "op": "AVG", "field": "amount" }, { "op": "MAX", "field": "amount" }]);
    let out = crm.q(agg, json!({ "m": measures, "g": ["stage"], "b": { "field": "close_date", "unit": "MONTH" } })).await;
    assert_eq!(
        out["recordAggregates"],
        json!({ "truncated": false, "groups": [
            { "keys": ["Open"], "bucket": "2026-02-01T00:00:00+00:00", "values": [250.0, 2.0, 250.0, 250.0] },
            { "keys": ["Won"], "bucket": "2026-01-01T00:00:00+00:00", "values": [1500.0, 2.0, 750.0, 1000.0] },
            { "keys": ["Won"], "bucket": "2026-02-01T00:00:00+00:00", "values": [2000.0, 1.0, 2000.0, 2000.0] },
        ] })
    );
    // The records filter applies; no grouping gives one row.
    let won = crm.q(agg, json!({ "m": [{ "op": "SUM", "field": "amount" }], "f": { "field": "stage", "op": "EQ", "value": "Won" } })).await;
    assert_eq!(
        won["recordAggregates"]["groups"],
        json!([{ "keys": [], "bucket": null, "values": [3500.0] }])
    );
    let body = crm
        .app
        .gql(
            agg,
            json!({ "m": [{ "op": "SUM", "field": "stage" }] }),
            crm.token(),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["problems"][0]["field"], "measures[0].field",
        "{body:#}"
    );
}

#[tokio::test]
async fn records_missing_required_fields_are_quarantined_with_their_reasons() {
    use sea_orm::{ConnectionTrait, Database};
    use secrecy::ExposeSecret;
    let mut crm = Crm::new().await;
    // The tenant's model says an account needs a name and a whole employee count.
    let owner = Database::connect(crm.app.settings.database.migration_url.expose_secret())
        .await
        .unwrap();
    owner
        .execute_unprepared(&format!(
            "UPDATE canonical_fields f SET is_required = true FROM canonical_entities e
             WHERE f.entity_id = e.id AND e.name = 'account' AND f.name IN ('name', 'employee_count')
               AND f.tenant_id = '{}'",
            crm.t.tenant_id
        ))
        .await
        .unwrap();
    let body = "id,Name,Employees\nA1,Acme,40\nA2,,12\nA3,Initech,lots\n";
    crm.add((
        "accts",
        "accts.csv",
        body,
        "account",
        &[("Name", "name"), ("Employees", "employee_count")],
    ))
    .await;
    let run = crm.sync("accts").await;
    assert_eq!(run["status"], "PARTIAL", "{run:#}");
    assert_eq!(run["counts"]["quarantined"], 2, "{run:#}");
    let held = crm.q(
        "query($id: ID!) { syncRun(id: $id) { quarantined { edges { node { rowNumber reason raw } } } } }",
        json!({ "id": run["id"] }),
    ).await;
    let rows: Vec<Value> = held["syncRun"]["quarantined"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(rows.len(), 2, "{held:#}");
    assert_eq!(rows[0]["rowNumber"], 2);
    assert_eq!(rows[0]["reason"], "account.name is required and missing");
    assert!(
        rows[0]["raw"]
            .as_str()
            .unwrap()
            .contains("\"Employees\":\"12\""),
        "kept as it came: {rows:#?}"
    );
    assert_eq!(rows[1]["rowNumber"], 3);
    let reason = rows[1]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("account.employee_count is required; \"lots\" is not a whole number"),
        "{reason}"
    );
    // Only the whole record is an account; the grid counts the value that did not fit.
    assert_eq!(records(&crm, "account", json!({})).await["totalCount"], 1);
    let grid = crm.q("{ lineageGrid(search: \"employees\") { edges { node { canonicalField errorCount successRate } } } }", json!({})).await;
    let row = &grid["lineageGrid"]["edges"][0]["node"];
    assert_eq!(row["canonicalField"], "employee_count", "{grid:#}");
    assert_eq!(row["errorCount"], 1, "{grid:#}");
}

//! REST connectors from the shipped configs, against local servers that misbehave on cue.
use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_api::{FakeApi, Response};
use crate::helpers::{project_root, spawn_app, TestApp};

/// A shipped config pointed at `url`, with short retry delays so tests stay quick.
pub(crate) fn shipped(name: &str, url: &str) -> Value {
    let path = project_root().join(format!("config/connectors/{name}.json"));
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    config["baseUrl"] = json!(url);
    config["retry"] = json!({ "maxAttempts": 4, "baseDelayMs": 10, "maxDelayMs": 200 });
    config
}

async fn rest_connector(app: &TestApp, token: &str, name: &str, config: Value) -> String {
    app.create_connector(token, name, "REST", config).await
}

async fn sync(app: &TestApp, token: &str, connector: &str) -> Value {
    app.sync(token, connector).await
}

async fn record_names(app: &TestApp, token: &str, connector: &str) -> Vec<String> {
    let data = app
        .ok(
            "query($c: ID!) { canonicalEvents(filter: { connectorId: $c, entity: \"account\" }, first: 50) { edges { node { data } } } }",
            json!({ "c": connector }),
            Some(token),
        )
        .await;
    let mut names: Vec<String> = data["canonicalEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["node"]["data"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn sf_account(id: &str, name: &str) -> Value {
    json!({ "attributes": { "type": "Account", "url": format!("/services/data/v59.0/sobjects/Account/{id}") },
            "Id": id, "Name": name, "Website": format!("{}.test", name.to_lowercase()), "Industry": "Energy",
            "AnnualRevenue": 1000000, "Phone": "+1 555 0100" })
}

#[tokio::test]
async fn a_salesforce_like_api_syncs_through_429s_and_5xx_bursts() {
    let api = FakeApi::start(|r| {
        if r.headers.get("authorization").map(String::as_str) != Some("Bearer sf-token") {
            return Response::status(401);
        }
        match r.path.as_str() {
            "/services/data/v59.0/query" if r.nth == 1 => Response {
                retry_after: Some(0),
                ..Response::status(429)
            },
            "/services/data/v59.0/query" => Response::json(json!({
                "totalSize": 3, "done": false, "nextRecordsUrl": "/services/data/v59.0/query/01g-2",
                "records": [sf_account("001A", "Acme"), sf_account("001B", "Globex")]
            })),
            // Two 503s in a row, then the last page.
            "/services/data/v59.0/query/01g-2" if r.nth <= 2 => Response::status(503),
            "/services/data/v59.0/query/01g-2" => Response::json(json!({
                "totalSize": 3, "done": true, "records": [sf_account("001C", "Initech")]
            })),
            _ => Response::status(404),
        }
    })
    .await;
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let mut config = shipped("salesforce", &api.url);
    config["auth"]["token"] = json!("sf-token");
    config["entities"] = json!([config["entities"][0]]);
    let connector = rest_connector(&app, &t.token, "salesforce", config).await;
    let shown = app
        .ok(
            "query($id: ID!) { connector(id: $id) { config } }",
            json!({ "id": connector }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        shown["connector"]["config"]["auth"]["token"], "********",
        "secrets never come back"
    );

    let run = sync(&app, &t.token, &connector).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["counts"]["recordsRead"], 3);
    assert!(
        run["counts"]["autoApplied"].as_u64().unwrap() >= 3,
        "{run:#}"
    );
    assert_eq!(
        record_names(&app, &t.token, &connector).await,
        ["Acme", "Globex", "Initech"]
    );
    let hits = api.hits();
    assert!(
        hits.iter().filter(|h| h.contains("01g-2")).count() >= 3,
        "the 503s were retried: {hits:?}"
    );
}

#[tokio::test]
async fn a_hubspot_like_api_keeps_good_entities_when_another_sends_malformed_json() {
    let api = FakeApi::start(|r| match r.path.as_str() {
        "/crm/v3/objects/companies" => {
            let page = |ids: &[&str], next: Option<&str>| {
                let results: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({ "id": id, "properties": { "name": format!("Company {id}"), "domain": format!("c{id}.test"), "industry": "Retail" } }))
                    .collect();
                let mut body = json!({ "results": results });
                if let Some(n) = next {
                    body["paging"] = json!({ "next": { "after": n } });
                }
                Response::json(body)
            };
            match r.query.get("after").map(String::as_str) {
                None => page(&["1", "2"], Some("c2")),
                Some("c2") => page(&["3"], None),
                _ => Response::status(400),
            }
        }
        "/crm/v3/objects/contacts" => Response::raw("{\"results\": [{\"id\": \"9\", "),
        _ => Response::status(404),
    })
    .await;
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let connector = rest_connector(&app, &t.token, "hubspot", shipped("hubspot", &api.url)).await;
    let run = sync(&app, &t.token, &connector).await;
    assert_eq!(run["status"], "PARTIAL", "{run:#}");
    assert_eq!(run["counts"]["recordsRead"], 3);
    let error = &run["errors"][0];
    assert_eq!(error["entity"], "contacts");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("malformed JSON"),
        "{run:#}"
    );
    assert_eq!(
        record_names(&app, &t.token, &connector).await,
        ["Company 1", "Company 2", "Company 3"]
    );
}

#[tokio::test]
async fn a_stripe_like_api_pages_by_last_id_and_retries_slow_responses() {
    let api = FakeApi::start(|r| {
        if r.path != "/v1/customers" {
            return Response::json(json!({ "object": "list", "data": [], "has_more": false }));
        }
        let customer = |id: &str| json!({ "id": id, "object": "customer", "name": format!("Customer {id}"), "email": format!("{id}@example.com"), "created": 1700000000 });
        let slow = r.nth == 2;
        let response = match r.query.get("starting_after").map(String::as_str) {
            None => Response::json(json!({ "object": "list", "data": [customer("cus_1"), customer("cus_2")], "has_more": true })),
            Some("cus_2") => Response::json(json!({ "object": "list", "data": [customer("cus_3")], "has_more": false })),
            _ => Response::status(400),
        };
        // The second request hangs past the client's timeout once.
        Response { delay: if slow { Duration::from_millis(800) } else { Duration::ZERO }, ..response }
    })
    .await;
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let mut config = shipped("stripe", &api.url);
    config["timeoutMs"] = json!(300);
    let connector = rest_connector(&app, &t.token, "stripe", config).await;
    let run = sync(&app, &t.token, &connector).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["counts"]["recordsRead"], 3, "{run:#}");
    let hits = api.hits();
    assert!(
        hits.iter().any(|h| h.contains("starting_after=cus_2")),
        "{hits:?}"
    );
    assert!(
        hits.iter().all(|h| !h.contains("starting_after=cus_3")),
        "has_more=false ends paging"
    );
}

#[tokio::test]
async fn the_circuit_breaker_opens_then_half_opens() {
    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = healthy.clone();
    let api = FakeApi::start(move |_| {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            Response::json(json!([{ "id": "1", "name": "Acme" }]))
        } else {
            Response::status(500)
        }
    })
    .await;
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let config = json!({
        "baseUrl": api.url, "entities": [{ "name": "accounts", "endpoint": "/accounts" }],
        "retry": { "maxAttempts": 2, "baseDelayMs": 1, "maxDelayMs": 5 },
        "circuitBreaker": { "failureThreshold": 3, "resetAfterMs": 700 }
    });
    let connector = rest_connector(&app, &t.token, "flaky", config).await;
    let first = sync(&app, &t.token, &connector).await;
    assert_eq!(first["status"], "FAILED");
    assert!(
        first["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{first:#}"
    );
    // The third consecutive failure opens the breaker: the next attempt is not even sent.
    let second = sync(&app, &t.token, &connector).await;
    assert!(
        second["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("circuit breaker open"),
        "{second:#}"
    );
    let sent = api.hits().len();
    let third = sync(&app, &t.token, &connector).await;
    assert!(third["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("circuit breaker open"));
    assert_eq!(api.hits().len(), sent, "an open breaker sends nothing");
    // After the reset delay one trial goes through; the API has recovered, so it closes.
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let fourth = sync(&app, &t.token, &connector).await;
    assert_eq!(fourth["status"], "SUCCEEDED", "{fourth:#}");
    assert_eq!(fourth["counts"]["recordsRead"], 1);
}

#[tokio::test]
async fn the_rate_limit_spaces_requests() {
    let api = FakeApi::start(|r| {
        let page: usize = r
            .query
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let data: Vec<Value> = if page <= 4 {
            vec![json!({ "id": page.to_string(), "name": format!("A{page}") })]
        } else {
            vec![]
        };
        Response::json(json!({ "items": data }))
    })
    .await;
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let config = json!({
        "baseUrl": api.url,
        "entities": [{ "name": "accounts", "endpoint": "/accounts", "recordsPath": "items",
                       "pagination": { "type": "page", "pageParam": "page" } }],
        "rateLimit": { "requestsPerSecond": 10, "burst": 1 }
    });
    let connector = rest_connector(&app, &t.token, "limited", config).await;
    let run = sync(&app, &t.token, &connector).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["counts"]["recordsRead"], 4);
    let times = api.times();
    assert!(times.len() >= 6, "introspection + 5 pages");
    for pair in times.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap >= Duration::from_millis(80),
            "requests {gap:?} apart at 10/s"
        );
    }
}

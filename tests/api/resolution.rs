//! The resolution stage beside the ingest: records stored while resolution was off are linked
//! by their connector's next run, and whatever waits in the tenant's resolution queue (left by
//! a stage that stopped with its process) is resolved by the tenant's next run of any connector.
//! And the stage learns the tenant's match model from the pairs it compares.
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::records::{find, records, sources, Crm, Source};

#[tokio::test]
async fn records_left_unresolved_are_linked_by_the_next_run() {
    let mut off = Crm::with(|s| s.records.resolve = false).await;
    for source in sources() {
        off.add(source).await;
    }
    for (name, _) in off.connectors.clone() {
        let run = off.sync(&name).await;
        assert_eq!(run["counts"]["unifiedLinks"], 0, "{run:#}");
    }
    assert_eq!(records(&off, "account", json!({})).await["totalCount"], 0);

    // The same tenant on an app that resolves: each connector's next run links its records
    // (nothing new is read, so nothing but the stored records is resolved).
    let on = Crm {
        app: spawn_app_with(|_| {}).await,
        ..off
    };
    let run = on.sync("crm-accounts").await;
    assert_eq!(run["counts"]["eventsWritten"], 0, "{run:#}");
    assert_eq!(records(&on, "account", json!({})).await["totalCount"], 3);
    let run = on.sync("hub-companies").await;
    assert!(
        run["counts"]["unifiedLinks"].as_u64().unwrap() >= 2,
        "{run:#}"
    );
    let accounts = records(&on, "account", json!({})).await;
    assert_eq!(
        accounts["totalCount"], 4,
        "as when synced with resolution on: {accounts:#}"
    );
    assert_eq!(find(&on, "account", "initech").await["memberCount"], 2);

    // A record changed and queued, as a batch leaves it when its process dies before the
    // stage took it: the next run of another connector of the tenant resolves it.
    let owner = Database::connect(on.app.settings.database.migration_url.expose_secret())
        .await
        .unwrap();
    let changed = owner
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH r AS (
                 UPDATE canonical_records SET data = data || '{\"name\": \"Initrode Holdings\"}',
                        updated_at = now() + interval '1 minute'
                 WHERE tenant_id = $1::uuid AND entity = 'account' AND source_record_id = 'A3'
                 RETURNING tenant_id, entity, id)
             INSERT INTO resolution_queue (tenant_id, entity, canonical_id) SELECT * FROM r",
            [on.t.tenant_id.clone().into()],
        ))
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    on.sync("crm-contacts").await;
    let renamed = find(&on, "account", "initrode").await;
    assert_eq!(renamed["data"]["name"], "Initrode Holdings", "{renamed:#}");
    let left = owner
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM resolution_queue WHERE tenant_id = $1::uuid",
            [on.t.tenant_id.clone().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        left.try_get::<i64>("", "n").unwrap(),
        0,
        "the queue is drained"
    );
}

/// Contacts of two CRMs where one person's emails never differ: 400 people, ten given and ten
/// family names (namesakes share blocks), every one in the CRM, in the hub with the same email
/// and phone or none, and one person's namesake (`Zed Quux`) only in the CRM.
fn namesakes() -> (String, String) {
    const GIVEN: [&str; 10] = [
        "Ann", "Bob", "Cid", "Dan", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jon",
    ];
    const FAMILY: [&str; 10] = [
        "Smith", "Jones", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore", "Taylor",
        "Clark",
    ];
    const CITIES: [&str; 3] = ["Austin", "Boston", "Denver"];
    let mut crm =
        String::from("Id,First,Last,Email,City,Phone\nC-zed,Zed,Quux,zed@old.example,Austin,\n");
    let mut hub = String::from("id,firstname,lastname,email,city,phone\n");
    for i in 0..400 {
        let (given, family, city) = (GIVEN[i % 10], FAMILY[i / 10 % 10], CITIES[i / 100 % 3]);
        let email = format!("p{i}@corp{i}.example");
        let phone = format!("(512) 555-{:04}", 1000 + i);
        crm.push_str(&format!("C{i},{given},{family},{email},{city},{phone}\n"));
        let email = if i % 10 < 7 {
            email.to_uppercase()
        } else {
            String::new()
        };
        let phone = if i % 10 >= 2 { phone } else { String::new() };
        let city = city.to_lowercase();
        hub.push_str(&format!("K{i},{given},{family},{email},{city},{phone}\n"));
    }
    (crm, hub)
}

fn contacts(name: &'static str, body: String, header: [&'static str; 5]) -> Source {
    let fields: Vec<(&'static str, &'static str)> = header
        .into_iter()
        .zip(["first_name", "last_name", "email", "mailing_city", "phone"])
        .collect();
    let file: &'static str = Box::leak(format!("{name}.csv").into_boxed_str());
    (
        name,
        file,
        Box::leak(body.into_boxed_str()),
        "contact",
        Box::leak(fields.into_boxed_slice()),
    )
}

#[tokio::test]
async fn the_match_model_is_learned_from_the_tenants_own_pairs() {
    let mut crm = Crm::new().await;
    let (people, copies) = namesakes();
    crm.add(contacts(
        "crm",
        people,
        ["First", "Last", "Email", "City", "Phone"],
    ))
    .await;
    crm.add(contacts(
        "hub",
        copies,
        ["firstname", "lastname", "email", "city", "phone"],
    ))
    .await;
    crm.sync("crm").await;
    crm.sync("hub").await;
    const MODEL: &str =
        "{ matchModel(entity: \"contact\") { entity priorWeight pairs anchoredPairs trainedAt
                              levels { field level m u weight } } }";
    let model = crm.q(MODEL, json!({})).await["matchModel"].clone();
    assert_eq!(model["entity"], "contact", "{model:#}");
    let pairs = model["pairs"].as_f64().unwrap();
    let anchored = model["anchoredPairs"].as_f64().unwrap();
    assert!(pairs >= 2000.0, "{model:#}");
    // The 400 people in both with an equal email or phone on both sides, some compared twice
    // (records linked by a score before the first model are placed again with it).
    assert!(anchored >= 300.0 && anchored < pairs / 2.0, "{model:#}");
    let weight = |field: &str, level: &str| {
        model["levels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["field"] == field && l["level"] == level)
            .and_then(|l| l["weight"].as_f64())
            .unwrap_or_else(|| panic!("no {field} {level} in {model:#}"))
    };
    // Built in: log2(0.06 / 0.9989) = -4.1. Here emails of one person never differ (learned
    // from the pairs their phones link).
    assert!(weight("email", "different") < -7.0, "{model:#}");
    assert!(weight("mailing_city", "different") < -7.0, "{model:#}");

    // A namesake in the same city with another email: the built-in values link the two
    // (p = 0.99); what was learned keeps them apart.
    let late = "id,firstname,lastname,email,city,phone\nL1,Zed,Quux,zed@new.example,austin,\n";
    crm.add(contacts(
        "late",
        late.to_owned(),
        ["firstname", "lastname", "email", "city", "phone"],
    ))
    .await;
    crm.sync("late").await;
    let zed = records(&crm, "contact", json!({ "s": "Quux" })).await;
    assert_eq!(zed["totalCount"], 2, "two people named Zed Quux: {zed:#}");

    // Another tenant sees no model.
    let other = crm.app.sign_up().await;
    let theirs = crm.app.ok(MODEL, json!({}), Some(&other.token)).await;
    assert!(theirs["matchModel"].is_null(), "{theirs:#}");
}

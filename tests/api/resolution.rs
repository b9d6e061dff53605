//! The resolution stage beside the ingest: records stored while resolution was off are linked
//! by their connector's next run, and whatever waits in the tenant's resolution queue (left by
//! a stage that stopped with its process) is resolved by the tenant's next run of any connector.
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::records::{find, records, sources, Crm};

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

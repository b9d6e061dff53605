//! Row-level security, checked directly against PostgreSQL as the app role, below the API.
use migration::TENANT_TABLES;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait,
};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{settings, spawn_app};

async fn app_role() -> DatabaseConnection {
    Database::connect(settings().database.url.expose_secret())
        .await
        .unwrap()
}

async fn owner_role() -> DatabaseConnection {
    Database::connect(settings().database.migration_url.expose_secret())
        .await
        .unwrap()
}

/// A transaction as the app role with `app.tenant_id` set, as the data layer does it.
async fn scoped_to(db: &DatabaseConnection, tenant_id: &str) -> DatabaseTransaction {
    let tx = db.begin().await.unwrap();
    tx.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('app.tenant_id', $1, true)",
        [tenant_id.into()],
    ))
    .await
    .unwrap();
    tx
}

async fn count(conn: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = conn
        .query_one(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn the_app_role_is_subject_to_rls() {
    let db = app_role().await;
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
        ))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !row.try_get_by_index::<bool>(0).unwrap(),
        "app role must not be superuser"
    );
    assert!(
        !row.try_get_by_index::<bool>(1).unwrap(),
        "app role must not bypass RLS"
    );
}

#[tokio::test]
async fn every_tenant_table_has_tenant_id_in_an_index_and_a_policy() {
    let db = owner_role().await;
    for table in TENANT_TABLES {
        let rls = count(
            &db,
            &format!("SELECT count(*) FROM pg_class WHERE relname = '{table}' AND relrowsecurity"),
        )
        .await;
        assert_eq!(rls, 1, "{table}: row-level security not enabled");
        let policies = count(
            &db,
            &format!("SELECT count(*) FROM pg_policies WHERE tablename = '{table}'"),
        )
        .await;
        assert!(policies >= 1, "{table}: no policy");
        let not_null = count(
            &db,
            &format!("SELECT count(*) FROM information_schema.columns WHERE table_name = '{table}' AND column_name = 'tenant_id' AND is_nullable = 'NO'"),
        )
        .await;
        assert_eq!(not_null, 1, "{table}: tenant_id missing or nullable");
        // Held by an index, not necessarily first: tables read by ids lead their indexes with
        // the ids (an index led by the tenant served lookups by ids it does not hold while a
        // first sync's statistics were stale; migration 0013).
        let tenant_index = count(
            &db,
            &format!(
                "SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                 WHERE i.indrelid = '{table}'::regclass AND a.attname = 'tenant_id'"
            ),
        )
        .await;
        assert!(tenant_index >= 1, "{table}: no index holds tenant_id");
    }
}

/// Resolution reads these tables by ids while a first sync grows them; with statistics that
/// still say "empty", the planner served lookups from whichever index matched a prefix and was
/// smallest. With distinct leading columns, only the index of the id looked up can serve it.
#[tokio::test]
async fn lookup_tables_lead_each_index_with_a_different_column() {
    let db = owner_role().await;
    for table in ["canonical_records", "record_links", "record_keys"] {
        let shared = count(
            &db,
            &format!(
                "SELECT count(*) FROM (SELECT i.indkey[0] FROM pg_index i
                 WHERE i.indrelid = '{table}'::regclass GROUP BY 1 HAVING count(*) > 1) t"
            ),
        )
        .await;
        assert_eq!(shared, 0, "{table}: two indexes lead with the same column");
    }
}

#[tokio::test]
async fn without_a_tenant_setting_the_app_role_sees_nothing() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    app.create_csv_connector(&a.token, "rls-visible").await;
    let db = app_role().await;
    for table in TENANT_TABLES.iter().chain(["tenants"].iter()) {
        // Baseline vectors (the reserved nil tenant) are readable by design.
        let filter = if *table == "mapping_embeddings" {
            " WHERE tenant_id <> '00000000-0000-0000-0000-000000000000'"
        } else {
            ""
        };
        let n = count(&db, &format!("SELECT count(*) FROM {table}{filter}")).await;
        assert_eq!(n, 0, "{table} leaked {n} rows without app.tenant_id");
    }
}

#[tokio::test]
async fn with_a_tenant_setting_only_that_tenants_rows_are_visible_or_writable() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    app.create_csv_connector(&a.token, "a-conn").await;
    app.create_csv_connector(&b.token, "b-conn").await;
    app.create_mapping(&b.token, "name", "account", "name")
        .await;

    let db = app_role().await;
    let tx = scoped_to(&db, &a.tenant_id).await;
    let b_filter = format!("WHERE tenant_id = '{}'", b.tenant_id);
    for table in [
        "users",
        "connectors",
        "mappings",
        "audit_log",
        "canonical_fields",
        "ontologies",
    ] {
        assert_eq!(
            count(&tx, &format!("SELECT count(*) FROM {table} {b_filter}")).await,
            0,
            "{table}: B visible to A"
        );
        let foreign = count(
            &tx,
            &format!(
                "SELECT count(*) FROM {table} WHERE tenant_id <> '{}'",
                a.tenant_id
            ),
        )
        .await;
        assert_eq!(foreign, 0, "{table}: other tenants visible");
    }
    assert_eq!(count(&tx, "SELECT count(*) FROM connectors").await, 1);
    assert_eq!(count(&tx, "SELECT count(*) FROM tenants").await, 1);

    // Writing a row for B while scoped to A is refused by the policy.
    let insert = tx
        .execute(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "INSERT INTO connectors (tenant_id, name, kind, config) VALUES ('{}', 'sneaky', 'CSV', '{{}}')",
                b.tenant_id
            ),
        ))
        .await;
    let err = insert
        .expect_err("cross-tenant insert must fail")
        .to_string();
    assert!(err.contains("row-level security"), "{err}");
    drop(tx);

    // Updates and deletes of B's rows touch nothing.
    let tx = scoped_to(&db, &a.tenant_id).await;
    let updated = tx
        .execute(Statement::from_string(
            DbBackend::Postgres,
            format!("UPDATE connectors SET name = 'x' {b_filter}"),
        ))
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let deleted = tx
        .execute(Statement::from_string(
            DbBackend::Postgres,
            format!("DELETE FROM mappings {b_filter}"),
        ))
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 0);
    tx.commit().await.unwrap();
    let b_view = app
        .ok(
            "{ connectors { edges { node { name } } } mappings { totalCount } }",
            json!({}),
            Some(&b.token),
        )
        .await;
    assert_eq!(b_view["connectors"]["edges"][0]["node"]["name"], "b-conn");
    assert_eq!(b_view["mappings"]["totalCount"], 1);
}

#[tokio::test]
async fn the_audit_log_is_append_only() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let db = app_role().await;
    let tx = scoped_to(&db, &a.tenant_id).await;
    let err = tx
        .execute(Statement::from_string(
            DbBackend::Postgres,
            "DELETE FROM audit_log",
        ))
        .await
        .expect_err("audit rows cannot be deleted")
        .to_string();
    assert!(err.contains("append-only"), "{err}");
}

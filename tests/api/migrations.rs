//! Migrations run up → down → up on a database of their own, leaving the same schema.
use migration::{Migrator, MigratorTrait, TENANT_TABLES};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use secrecy::ExposeSecret;

use crate::helpers::settings;

fn with_db(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{db}")
}

async fn schema_snapshot(conn: &impl ConnectionTrait) -> Vec<String> {
    let rows = conn
        .query_all(Statement::from_string(
            DbBackend::Postgres,
            "SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'seaql_migrations'
             UNION ALL SELECT 'policy:' || tablename || '.' || policyname FROM pg_policies
             UNION ALL SELECT 'index:' || indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'seaql_migrations'
             ORDER BY 1",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let owner_url = settings().database.migration_url.expose_secret().to_owned();
    let admin = Database::connect(&owner_url).await.unwrap();
    let name = format!("autonomos_migtest_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();

    let db = Database::connect(with_db(&owner_url, &name)).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let first = schema_snapshot(&db).await;
    for table in TENANT_TABLES {
        assert!(
            first
                .iter()
                .any(|l| l.starts_with(&format!("{table}.tenant_id:uuid:NO"))),
            "{table}"
        );
        assert!(
            first
                .iter()
                .any(|l| l == &format!("policy:{table}.tenant_isolation")),
            "{table}"
        );
    }
    assert!(first
        .iter()
        .any(|l| l == "mapping_embeddings.embedding:USER-DEFINED:NO"));

    Migrator::down(&db, None).await.unwrap();
    assert!(
        schema_snapshot(&db).await.is_empty(),
        "down leaves nothing behind"
    );

    Migrator::up(&db, None).await.unwrap();
    assert_eq!(schema_snapshot(&db).await, first);

    db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
}

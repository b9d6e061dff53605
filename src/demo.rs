//! The demo tenant `just run` prints a login for: two overlapping CRMs (a CRM export and a
//! HubSpot-like one, accounts and contacts) synced at start, so a new user sees unified records
//! with provenance, pairs and proposals waiting for review, a drift event and lineage.
use std::path::Path;

use crate::domains::auth::model::Role;
use crate::domains::auth::scope::{RequestMeta, TenantScope};
use crate::domains::auth::service::{self as auth, SignUp};
use crate::domains::connectors::kinds::csv::tenant_dir;
use crate::domains::connectors::model::{Connector, ConnectorFilter, ConnectorKind};
use crate::domains::connectors::service::{self as connectors, NewConnector};
use crate::domains::pipeline::service as pipeline;
use crate::error::{AppError, AppResult};
use crate::pagination::PageRequest;
use crate::services::Services;

pub const DEMO_EMAIL: &str = "demo@autonomos.local";
pub const DEMO_PASSWORD: &str = "demo-password-2026";
pub const DEMO_TENANT: &str = "Demo Company";

pub enum Seeded {
    Created,
    AlreadyThere,
}

/// The shipped samples (under `data/files/demo/`), each copied into the demo tenant's own file
/// area (connectors read nothing else): (connector name, file, source entity, id column).
const SOURCES: [(&str, &str, &str, &str); 4] = [
    ("Demo accounts (CSV)", "demo/accounts.csv", "accounts", "id"),
    (
        "CRM contacts (CSV)",
        "demo/crm-contacts.csv",
        "contacts",
        "id",
    ),
    (
        "HubSpot companies (CSV)",
        "demo/hubspot-companies.csv",
        "companies",
        "id",
    ),
    (
        "HubSpot contacts (CSV)",
        "demo/hubspot-contacts.csv",
        "contacts",
        "id",
    ),
];

/// The accounts file's column added after the first sync: a drift event to look at.
const LATE_COLUMN: &str = "Loyalty Tier";

/// Creates the demo tenant, its connectors, and syncs each connector never synced yet
/// (idempotent: a second run changes nothing; a demo seeded by an older version is completed).
pub async fn seed(services: &Services, file_root: &Path) -> AppResult<Seeded> {
    let input = SignUp {
        tenant_name: DEMO_TENANT.into(),
        email: DEMO_EMAIL.into(),
        password: DEMO_PASSWORD.into(),
    };
    let (token, outcome) = match auth::sign_up(&services.auth, RequestMeta::default(), input).await
    {
        Ok(session) => (session.token, Seeded::Created),
        Err(AppError::Conflict(_)) => {
            let session = auth::login(
                &services.auth,
                RequestMeta::default(),
                DEMO_EMAIL,
                DEMO_PASSWORD.into(),
            )
            .await?;
            (session.token, Seeded::AlreadyThere)
        }
        Err(e) => return Err(e),
    };
    let credentials = auth::authenticate(&services.auth, Some(&token), None).await;
    let scope = auth::authorize(&credentials, Role::Admin, RequestMeta::default())?;
    for (name, file, entity, id_column) in SOURCES {
        let source = file_root.join(file);
        if !source.is_file() {
            continue;
        }
        let copy = tenant_dir(file_root, scope.tenant_id()).join(file);
        let connector = connector(services, &scope, name, file, entity, id_column).await?;
        let first_sync = connector.last_synced_at.is_none();
        if first_sync && file.ends_with("accounts.csv") {
            // First without the late column, then with it: the second sync finds it.
            write(&copy, &without_column(&source, LATE_COLUMN)?)?;
            sync(services, &scope, &connector).await?;
        }
        // The tenant's copy is theirs once there (a restart does not undo their edits).
        if first_sync || !copy.is_file() {
            write(&copy, &std::fs::read(&source).map_err(AppError::internal)?)?;
        }
        if first_sync {
            sync(services, &scope, &connector).await?;
        }
    }
    Ok(outcome)
}

async fn connector(
    services: &Services,
    scope: &TenantScope,
    name: &str,
    file: &str,
    entity: &str,
    id_column: &str,
) -> AppResult<Connector> {
    let all = connectors::list(
        &services.connectors,
        scope,
        ConnectorFilter::default(),
        PageRequest {
            limit: 100,
            after: None,
        },
    )
    .await?;
    if let Some(found) = all.items.into_iter().find(|c| c.name == name) {
        return Ok(found);
    }
    connectors::create(
        &services.connectors,
        scope,
        NewConnector {
            name: name.into(),
            kind: ConnectorKind::Csv,
            config: serde_json::json!({ "path": file, "entity": entity, "idColumn": id_column }),
        },
    )
    .await
}

async fn sync(services: &Services, scope: &TenantScope, connector: &Connector) -> AppResult<()> {
    let run = pipeline::start(&services.pipeline, scope, connector.id, true).await?;
    tracing::info!(connector = %connector.name, status = %run.status.as_str(), "demo source synced");
    Ok(())
}

fn write(path: &Path, body: &[u8]) -> AppResult<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    }
    std::fs::write(path, body).map_err(AppError::internal)
}

/// The CSV without one column (rows too short to have it are kept as they are).
fn without_column(path: &Path, column: &str) -> AppResult<Vec<u8>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_path(path)
        .map_err(AppError::internal)?;
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let mut drop_at = None;
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(AppError::internal)?;
        if i == 0 {
            drop_at = row.iter().position(|h| h == column);
        }
        let kept: Vec<&str> = row
            .iter()
            .enumerate()
            .filter(|(j, _)| Some(*j) != drop_at)
            .map(|(_, v)| v)
            .collect();
        out.write_record(&kept).map_err(AppError::internal)?;
    }
    out.into_inner().map_err(AppError::internal)
}

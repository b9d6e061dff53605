//! The demo tenant `just run` prints a login for.
use std::path::Path;

use crate::domains::auth::model::Role;
use crate::domains::auth::scope::RequestMeta;
use crate::domains::auth::service::{self as auth, SignUp};
use crate::domains::connectors::kinds::csv::tenant_dir;
use crate::domains::connectors::model::ConnectorKind;
use crate::domains::connectors::service::{self as connectors, NewConnector};
use crate::error::{AppError, AppResult};
use crate::services::Services;

pub const DEMO_EMAIL: &str = "demo@autonomos.local";
pub const DEMO_PASSWORD: &str = "demo-password-2026";
pub const DEMO_TENANT: &str = "Demo Company";

pub enum Seeded {
    Created,
    AlreadyThere,
}

/// Creates the demo tenant and admin unless they exist (idempotent).
pub async fn seed(services: &Services, file_root: &Path) -> AppResult<Seeded> {
    let input = SignUp {
        tenant_name: DEMO_TENANT.into(),
        email: DEMO_EMAIL.into(),
        password: DEMO_PASSWORD.into(),
    };
    match auth::sign_up(&services.auth, RequestMeta::default(), input).await {
        Ok(session) => {
            demo_connector(services, file_root, &session.token).await?;
            Ok(Seeded::Created)
        }
        Err(AppError::Conflict(_)) => {
            // Seeded by an older version: make sure the demo connector is there too.
            if let Ok(session) = auth::login(
                &services.auth,
                RequestMeta::default(),
                DEMO_EMAIL,
                DEMO_PASSWORD.into(),
            )
            .await
            {
                demo_connector(services, file_root, &session.token).await?;
            }
            Ok(Seeded::AlreadyThere)
        }
        Err(e) => Err(e),
    }
}

/// The shipped sample, copied into the demo tenant's own file area (connectors read nothing
/// else), under the same relative path.
const DEMO_FILE: &str = "demo/accounts.csv";

/// A CSV connector over a copy of `data/files/demo/accounts.csv`, ready for `syncConnector` (one
/// row is malformed and one value does not fit, to show quarantine and value errors).
async fn demo_connector(services: &Services, root: &Path, token: &str) -> AppResult<()> {
    let credentials = auth::authenticate(&services.auth, Some(token), None).await;
    let scope = auth::authorize(&credentials, Role::Admin, RequestMeta::default())?;
    let copy = tenant_dir(root, scope.tenant_id()).join(DEMO_FILE);
    if let Some(dir) = copy.parent() {
        std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    }
    std::fs::copy(root.join(DEMO_FILE), &copy).map_err(AppError::internal)?;
    let created = connectors::create(
        &services.connectors,
        &scope,
        NewConnector {
            name: "Demo accounts (CSV)".into(),
            kind: ConnectorKind::Csv,
            config: serde_json::json!({ "path": DEMO_FILE, "entity": "accounts", "idColumn": "id" }),
        },
    )
    .await;
    match created {
        Ok(_) | Err(AppError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

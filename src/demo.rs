//! The demo tenant `just run` prints a login for.
use crate::domains::auth::scope::RequestMeta;
use crate::domains::auth::service::{self as auth, SignUp};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const DEMO_EMAIL: &str = "demo@autonomos.local";
pub const DEMO_PASSWORD: &str = "demo-password-2026";
pub const DEMO_TENANT: &str = "Demo Company";

pub enum Seeded {
    Created,
    AlreadyThere,
}

/// Creates the demo tenant and admin unless they exist (idempotent).
pub async fn seed(state: &AppState) -> AppResult<Seeded> {
    let input = SignUp {
        tenant_name: DEMO_TENANT.into(),
        email: DEMO_EMAIL.into(),
        password: DEMO_PASSWORD.into(),
    };
    match auth::sign_up(state, RequestMeta::default(), input).await {
        Ok(_) => Ok(Seeded::Created),
        Err(AppError::Conflict(_)) => Ok(Seeded::AlreadyThere),
        Err(e) => Err(e),
    }
}

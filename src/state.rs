//! Process-wide state, registered once with actix-web and the GraphQL schema.
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::domains::auth::token::TokenKeys;
use crate::infra::redis::Redis;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: Redis,
    pub settings: Arc<Settings>,
    pub tokens: Arc<TokenKeys>,
}

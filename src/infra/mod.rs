pub mod analytics;
pub mod crypto;
pub mod db;
pub mod embed;
pub mod metrics;
pub mod outbound;
pub mod redis;
pub mod vector;

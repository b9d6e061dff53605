//! PostgreSQL databases: the tables of one schema.
pub mod config;
pub mod source;

pub use config::PostgresConfig;
pub use source::PgSource;

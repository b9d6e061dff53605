//! The canonical pipeline: sync runs as jobs over connector sources (opened by the connectors
//! domain), canonical events and records with field-level lineage. Nothing kind-specific.
mod build;
pub mod coerce;
pub mod dispatch;
mod events_store;
pub mod graphql;
mod ingest;
pub mod model;
pub mod observer;
pub mod observer_graphql;
pub mod preview;
mod resolution;
pub mod schedules;
mod schema_step;
pub mod service;
mod store;
pub mod sync;

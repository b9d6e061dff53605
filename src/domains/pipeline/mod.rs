//! The canonical pipeline: connector sources, sync runs as jobs, schema drift, canonical events
//! and records with field-level lineage.
pub mod coerce;
pub mod csv_source;
pub mod drift;
pub mod graphql;
pub mod guards;
pub mod pg_source;
mod rest_pager;
pub mod rest_source;
pub mod service;
pub mod slots;
pub mod source;
mod store;
pub mod sync;

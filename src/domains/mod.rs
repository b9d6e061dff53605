pub mod audit;
pub mod auth;
pub mod connectors;
pub mod lineage;
pub mod mappings;
pub mod ontology;
pub mod pipeline;
pub mod telemetry;

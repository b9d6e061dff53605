//! One integration-test binary on the real app, real PostgreSQL (+pgvector) and real Redis,
//! started by `just services`. Every test signs up a tenant of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod auth;
mod errors;
mod fake_api;
mod faults;
mod fuzz;
mod helpers;
mod http;
mod isolation;
mod isolation_walk;
mod limits;
mod lineage;
mod llm;
mod mappings;
mod metrics;
mod migrations;
mod otel;
mod persisted;
mod pipeline;
mod proposals;
mod quotas;
mod records;
mod resolution;
mod rest_sources;
mod rls;
mod roles;
mod schema;
mod security_access;
mod security_outbound;
mod telemetry;
mod transforms;
mod ui;
mod uploads;
mod vector_backends;

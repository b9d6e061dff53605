//! AutonomOS: a multi-tenant GraphQL API that learns how source fields map onto a canonical
//! model, runs records through the mappings and shows where every value came from.
pub mod config;
pub mod demo;
pub mod domains;
pub mod error;
pub mod graphql;
pub mod http;
pub mod infra;
pub mod observability;
pub mod pagination;
pub mod read_columns;
pub mod services;
pub mod startup;
pub mod state;
pub mod tenancy;
pub mod text_enum;
